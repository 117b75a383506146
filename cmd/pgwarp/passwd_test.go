package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pgwarp/pgwarp/proxy"
)

func TestPasswdPrintsAVerifierTheLoaderAccepts(t *testing.T) {
	var out, errw bytes.Buffer
	if code := passwd(strings.NewReader("s3cret\n"), &out, &errw); code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	v := strings.TrimSpace(out.String())
	if !strings.HasPrefix(v, "SCRAM-SHA-256$4096:") || strings.Contains(v, "s3cret") {
		t.Fatalf("verifier %q", v)
	}
	if _, err := proxy.NewUser("app", "", v); err != nil {
		t.Fatal(err)
	}
	if code := passwd(strings.NewReader(""), &out, &errw); code == 0 {
		t.Fatal("an empty password was accepted")
	}
}
