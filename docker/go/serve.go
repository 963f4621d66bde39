//go:build !go1.24

package main

import (
	"errors"
	"net/http"
	"os"
)

// serve listens in the clear, HTTP/1.1 only: this Go has no h2c of its own.
func serve(addr string) error {
	if os.Getenv("STACKBENCH_H2C") == "1" {
		return errors.New("STACKBENCH_H2C=1: h2c needs Go 1.24 or later; build this image with Dockerfile.trixie")
	}
	return http.ListenAndServe(addr, nil)
}
