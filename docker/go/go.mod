module stackbench/go-nethttp

go 1.19
