// kubecheck reads rendered Kubernetes manifests (multi-document YAML) on standard input and
// checks each one offline, as an API server would before storing it:
//
//   - a kind of a built-in API group, or of the Prometheus operator's monitoring.coreos.com, is
//     decoded strictly into the API types of the release it is built with: an unknown field, a
//     field of the wrong type, a duplicate field or an unknown kind is an error;
//   - a custom resource whose CustomResourceDefinition is given with -crd (KEDA's ScaledObject)
//     is validated against that definition's OpenAPI schema, unknown fields included (what
//     kubectl's strict field validation refuses);
//   - anything else is reported as unchecked.
//
// It prints one JSON line per document and exits 1 when any document is refused.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

type verdict struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Name       string `json:"name"`
	Result     string `json:"result"` // "ok", "refused" or "unchecked"
	Error      string `json:"error,omitempty"`
}

type head struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// definition is one served version of a custom resource: its schema, ready to validate.
type definition struct {
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
}

type definitions map[schema.GroupVersionKind]definition

func (d definitions) String() string { return fmt.Sprint(len(d)) }

// Set reads the CustomResourceDefinitions of one file (-crd may be given more than once).
func (d definitions) Set(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		asJSON, err := yaml.YAMLToJSON(document)
		if err != nil || string(asJSON) == "null" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := json.Unmarshal(asJSON, &crd); err != nil || crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, served := range crd.Spec.Versions {
			if served.Schema == nil {
				continue
			}
			var internal apiextensions.CustomResourceValidation
			if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(served.Schema, &internal, nil); err != nil {
				return fmt.Errorf("%s: %s: %w", path, crd.Name, err)
			}
			validator, _, err := validation.NewSchemaValidator(internal.OpenAPIV3Schema)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", path, crd.Name, err)
			}
			structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", path, crd.Name, err)
			}
			kind := schema.GroupVersionKind{Group: crd.Spec.Group, Version: served.Name, Kind: crd.Spec.Names.Kind}
			d[kind] = definition{validator, structural}
		}
	}
}

func (d definition) check(asJSON []byte) error {
	var object map[string]any
	if err := json.Unmarshal(asJSON, &object); err != nil {
		return err
	}
	var problems []string
	for _, e := range validation.ValidateCustomResource(nil, object, d.validator) {
		problems = append(problems, e.Error())
	}
	unknown := pruning.PruneWithOptions(object, d.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		problems = append(problems, fmt.Sprintf("unknown field %q", path))
	}
	if problems != nil {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

var custom = definitions{}

func check(document []byte) (verdict, bool) {
	asJSON, err := yaml.YAMLToJSON(document)
	if err != nil {
		return verdict{Result: "refused", Error: err.Error()}, false
	}
	var h head
	if err := json.Unmarshal(asJSON, &h); err != nil {
		return verdict{Result: "refused", Error: err.Error()}, false
	}
	v := verdict{Kind: h.Kind, APIVersion: h.APIVersion, Name: h.Metadata.Name}
	gv, err := schema.ParseGroupVersion(h.APIVersion)
	if err != nil || h.Kind == "" {
		v.Result, v.Error = "refused", "no apiVersion or kind"
		return v, false
	}
	if !scheme.Scheme.IsGroupRegistered(gv.Group) {
		found, known := custom[gv.WithKind(h.Kind)]
		if !known {
			v.Result = "unchecked"
			return v, true
		}
		if err := found.check(asJSON); err != nil {
			v.Result, v.Error = "refused", err.Error()
			return v, false
		}
		v.Result = "ok"
		return v, true
	}
	if !scheme.Scheme.Recognizes(gv.WithKind(h.Kind)) {
		v.Result, v.Error = "refused", fmt.Sprintf("%s is not a kind of %s", h.Kind, h.APIVersion)
		return v, false
	}
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	if _, _, err := codecs.UniversalDeserializer().Decode(asJSON, nil, nil); err != nil {
		v.Result, v.Error = "refused", err.Error()
		return v, false
	}
	v.Result = "ok"
	return v, true
}

func main() {
	flag.Var(custom, "crd", "a file of CustomResourceDefinitions to validate their resources by")
	flag.Parse()
	if err := monitoringv1.AddToScheme(scheme.Scheme); err != nil {
		fmt.Fprintln(os.Stderr, "kubecheck:", err)
		os.Exit(2)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	good := true
	for {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(2)
		}
		if len(bytesTrim(document)) == 0 {
			continue
		}
		v, ok := check(document)
		good = good && ok
		if err := out.Encode(v); err != nil {
			os.Exit(2)
		}
	}
	if !good {
		os.Exit(1)
	}
}

// bytesTrim drops the comments and blank lines a document may be made of (helm writes a
// "# Source:" comment before each).
func bytesTrim(document []byte) []byte {
	asJSON, err := yaml.YAMLToJSON(document)
	if err != nil || string(asJSON) == "null" {
		return nil
	}
	return asJSON
}
