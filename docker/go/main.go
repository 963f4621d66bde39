// Go net/http: GET /health answers "ok", GET /sleep sleeps 0.1 s,
// POST /login checks a JSON body and a Token header, waits 0.2 s, answers JSON;
// GET /work spins WORK iterations of arithmetic (default 100000) before "ok": a
// CPU cost per request that is a knob (cargo xtask bench-gate).
// It listens on STACKBENCH_HOST:STACKBENCH_PORT and sets GOMAXPROCS from
// STACKBENCH_WORKERS (the CPU limit), not from the host's CPU count. With
// STACKBENCH_TLS_CERT and STACKBENCH_TLS_KEY (a scenario's `tls = true`) it
// serves TLS, and HTTP/2 to clients that agree to h2 (ALPN), as net/http does;
// GODEBUG=http2server=0 turns HTTP/2 off. With STACKBENCH_H2C=1 it serves
// HTTP/2 in the clear too (h2c with prior knowledge, beside HTTP/1.1), which
// needs Go 1.24 (serve_h2c.go; Dockerfile.trixie builds with it).
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"
)

const token = "stackbench-token"

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func reply(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Token") != token {
		reply(w, http.StatusUnauthorized, map[string]interface{}{"ok": false, "error": "bad token"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var c credentials
	if err != nil || json.Unmarshal(body, &c) != nil {
		reply(w, http.StatusBadRequest, map[string]interface{}{"ok": false, "error": "body is not JSON"})
		return
	}
	if c.Username != "bench" || c.Password != "bench-password" {
		reply(w, http.StatusUnauthorized, map[string]interface{}{"ok": false, "error": "bad credentials"})
		return
	}
	time.Sleep(200 * time.Millisecond)
	reply(w, http.StatusOK, map[string]interface{}{"ok": true, "user": c.Username})
}

func main() {
	if n, err := strconv.Atoi(os.Getenv("STACKBENCH_WORKERS")); err == nil && n > 0 {
		runtime.GOMAXPROCS(n)
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	http.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	http.HandleFunc("/login", login)
	work := 100000
	if n, err := strconv.Atoi(os.Getenv("WORK")); err == nil && n >= 0 {
		work = n
	}
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		x := uint64(r.ContentLength) + 1
		for i := 0; i < work; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 0 {
			io.WriteString(w, "!") // never: keeps the loop from being optimised away
		}
		io.WriteString(w, "ok")
	})
	addr := os.Getenv("STACKBENCH_HOST") + ":" + os.Getenv("STACKBENCH_PORT")
	if cert := os.Getenv("STACKBENCH_TLS_CERT"); cert != "" {
		log.Fatal(http.ListenAndServeTLS(addr, cert, os.Getenv("STACKBENCH_TLS_KEY"), nil))
	}
	log.Fatal(serve(addr))
}
