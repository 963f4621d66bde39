//go:build go1.24

package main

import (
	"net/http"
	"os"
)

// serve listens in the clear: HTTP/1.1, and with STACKBENCH_H2C=1 HTTP/2 with
// prior knowledge too (Go 1.24's Protocols).
func serve(addr string) error {
	server := &http.Server{Addr: addr}
	if os.Getenv("STACKBENCH_H2C") == "1" {
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		protocols.SetUnencryptedHTTP2(true)
		server.Protocols = &protocols
	}
	return server.ListenAndServe()
}
