// Command function-template-peer is the Go peer of the benchmark: a
// composition function on Crossplane's Go SDK (function-sdk-go) that composes
// from a Go template, the way function-go-templating does.
//
// The benchmark wants function-go-templating itself (or
// function-patch-and-transform), built with `go install` from the Go module
// proxy. The proxy that serves this project refuses both modules (403 for every
// version asked), so this peer does the same work on the same SDK, step for
// step, per call:
//
//   - logs "Running Function" and, at the end, "Successfully composed" (Info, JSON);
//   - reads the inline template from the input and parses it, with the sprig
//     functions and the template helpers (toYaml, fromYaml, getResourceCondition);
//   - turns the whole request into a map (protojson, then JSON), executes the
//     template over it, decodes the YAML documents into unstructured objects;
//   - sets the documents as desired composed resources (named and made ready by
//     annotations), the composite's status, and the claim conditions.
//
// It is benchmark code: what it composes is whatever the template says.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	function "github.com/crossplane/function-sdk-go"
	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
)

const (
	annotationName  = "gotemplating.fn.crossplane.io/composition-resource-name"
	annotationReady = "gotemplating.fn.crossplane.io/ready"
	metaAPIVersion  = "meta.gotemplating.fn.crossplane.io/v1alpha1"
)

// Function composes resources from a Go template.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	log logging.Logger
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"toYaml": func(v any) (string, error) {
			b, err := sigsyaml.Marshal(v)
			return strings.TrimSuffix(string(b), "\n"), err
		},
		"fromYaml": func(s string) (any, error) {
			var out any
			err := sigsyaml.Unmarshal([]byte(s), &out)
			return out, err
		},
		"getResourceCondition": getResourceCondition,
	}
}

// getResourceCondition returns the condition of type ct of an observed
// resource map, or an Unknown condition when it has none.
func getResourceCondition(ct string, res map[string]any) map[string]any {
	inner, _ := res["resource"].(map[string]any)
	status, _ := inner["status"].(map[string]any)
	conditions, _ := status["conditions"].([]any)
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == ct {
			return m
		}
	}
	return map[string]any{"type": ct, "status": "Unknown"}
}

func inlineTemplate(req *fnv1.RunFunctionRequest) (string, error) {
	in := req.GetInput().GetFields()
	if in["source"].GetStringValue() != "Inline" {
		return "", errors.New("input source must be Inline")
	}
	t := in["inline"].GetStructValue().GetFields()["template"].GetStringValue()
	if t == "" {
		return "", errors.New("input inline.template is empty")
	}
	return t, nil
}

func convertToMap(req *fnv1.RunFunctionRequest) (map[string]any, error) {
	b, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// RunFunction runs the Function.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	f.log.Info("Running Function", "tag", req.GetMeta().GetTag())
	rsp := response.To(req, response.DefaultTTL)

	src, err := inlineTemplate(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	tmpl, err := template.New("manifests").Option("missingkey=error").Funcs(sprig.TxtFuncMap()).Funcs(funcs()).Parse(src)
	if err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot parse the template: %w", err))
		return rsp, nil
	}
	reqMap, err := convertToMap(req)
	if err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot convert request to map: %w", err))
		return rsp, nil
	}
	buf := &bytes.Buffer{}
	if err := tmpl.Execute(buf, reqMap); err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot execute template: %w", err))
		return rsp, nil
	}

	var objs []*unstructured.Unstructured
	decoder := yaml.NewYAMLOrJSONDecoder(bytes.NewBufferString(buf.String()), 1024)
	for {
		u := &unstructured.Unstructured{}
		if err := decoder.Decode(&u); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			response.Fatal(rsp, fmt.Errorf("cannot decode manifest: %w", err))
			return rsp, nil
		}
		if u != nil && len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}

	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}

	for _, obj := range objs {
		name, named := obj.GetAnnotations()[annotationName]
		switch {
		case obj.GetAPIVersion() == oxr.Resource.GetAPIVersion() && obj.GetKind() == oxr.Resource.GetKind() && !named:
			// The composite: only its status is taken.
			if status, ok := obj.Object["status"]; ok {
				if err := dxr.Resource.SetValue("status", status); err != nil {
					response.Fatal(rsp, err)
					return rsp, nil
				}
			}
			continue
		case obj.GetAPIVersion() == metaAPIVersion && obj.GetKind() == "ClaimConditions":
			conditions, _ := obj.Object["conditions"].([]any)
			for _, c := range conditions {
				m, _ := c.(map[string]any)
				typ, _ := m["type"].(string)
				reason, _ := m["reason"].(string)
				message, _ := m["message"].(string)
				var co *response.ConditionOption
				if m["status"] == "True" {
					co = response.ConditionTrue(rsp, typ, reason)
				} else {
					co = response.ConditionFalse(rsp, typ, reason)
				}
				co.WithMessage(message).TargetCompositeAndClaim()
			}
			continue
		case !named:
			response.Fatal(rsp, fmt.Errorf("%q template is missing the %q annotation", obj.GetKind(), annotationName))
			return rsp, nil
		}
		cd := resource.NewDesiredComposed()
		cd.Resource = &composed.Unstructured{Unstructured: *obj.DeepCopy()}
		annotations := cd.Resource.GetAnnotations()
		if v, ok := annotations[annotationReady]; ok {
			cd.Ready = resource.Ready(v)
		}
		delete(annotations, annotationReady)
		delete(annotations, annotationName)
		if len(annotations) == 0 {
			unstructured.RemoveNestedField(cd.Resource.Object, "metadata", "annotations")
			if md, ok := cd.Resource.Object["metadata"].(map[string]any); ok && len(md) == 0 {
				delete(cd.Resource.Object, "metadata")
			}
		} else {
			cd.Resource.SetAnnotations(annotations)
		}
		desired[resource.Name(name)] = cd
	}

	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}
	f.log.Info("Successfully composed desired resources", "count", len(objs))
	return rsp, nil
}

func main() {
	address := flag.String("address", ":9443", "Address at which to listen for gRPC connections.")
	insecure := flag.Bool("insecure", false, "Run without mTLS credentials.")
	certs := flag.String("tls-server-certs-dir", "", "Serve using mTLS certificates.")
	metrics := flag.String("metrics-address", ":8080", "Address of the Prometheus metrics server.")
	debug := flag.Bool("debug", false, "Emit debug logs.")
	flag.Parse()

	log, err := function.NewLogger(*debug)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := function.Serve(&Function{log: log},
		function.Listen("tcp", *address),
		function.MTLSCertificates(*certs),
		function.Insecure(*insecure),
		function.WithMetricsServer(*metrics),
	); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
