package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"extcron/fault"
)

// decodeJSON reads a JSON request body into v. Unknown fields and values
// of the wrong type are field errors (422); malformed JSON is a 400.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return fault.New(fault.BadRequest, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return fault.New(fault.BadRequest, "The request body must hold exactly one JSON object.")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return fault.New(fault.BadRequest, "The request body must be a JSON object.")
		}
		return &fault.Error{Code: fault.Invalid, Message: "Some fields are not valid.",
			Fields: map[string]string{field: fmt.Sprintf("%s must be a JSON %s.", field, jsonKind(typeErr.Type.Kind().String()))}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &fault.Error{Code: fault.Invalid, Message: "The request has an unknown field.",
			Fields: map[string]string{name: "Unknown field " + name + "; it is not part of this API."}}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return fault.New(fault.BadRequest, "The request body is not valid JSON.")
	}
	return fault.New(fault.BadRequest, "The request body is not valid JSON.")
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "int", "int64", "int32":
		return "whole number"
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	}
	return "value of another type"
}
