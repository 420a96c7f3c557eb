package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pedigree-project/pedigree/client"
)

// clientOptions are the flags of every command that talks to a server.
type clientOptions struct {
	server string
	token  string
	json   bool
	// TLS: the CA that signed the server's certificate, and a client
	// certificate for servers that require one.
	tlsCA, tlsCert, tlsKey string
}

func addClientFlags(cmd *cobra.Command, o *clientOptions) {
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "127.0.0.1:7070", "gRPC address of the Pedigree server (as `serve` prints it)")
	f.StringVar(&o.token, "token", "", "API token (Bearer); see DATA/admin.token for the admin's")
	f.BoolVar(&o.json, "json", false, "print JSON instead of text")
	f.StringVar(&o.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server's certificate: speak TLS (empty: plaintext, or https:// in --server with the system's CAs)")
	f.StringVar(&o.tlsCert, "tls-client-cert", "", "PEM file of a client certificate, for servers that require one (with --tls-client-key)")
	f.StringVar(&o.tlsKey, "tls-client-key", "", "PEM file of the client certificate's key")
}

// client returns a client of the server; the caller closes it.
func (o *clientOptions) client() (*client.Client, error) {
	if o.tlsCA == "" && o.tlsCert == "" && o.tlsKey == "" {
		return client.New(o.server, o.token)
	}
	cfg, err := client.TLSConfig(o.tlsCA, o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, err
	}
	return client.New(o.server, o.token, client.WithTLS(cfg))
}

// call runs one request with a client of the server and prints the answer
// as JSON or with text.
func call[R proto.Message](cmd *cobra.Command, co *clientOptions, rpc func(context.Context, *client.Client) (R, error), text func(io.Writer, R)) (R, error) {
	var zero R
	c, err := co.client()
	if err != nil {
		return zero, err
	}
	defer c.Close()
	resp, err := rpc(cmd.Context(), c)
	if err != nil {
		return zero, err
	}
	if co.json {
		return resp, printJSON(cmd.OutOrStdout(), resp)
	}
	text(cmd.OutOrStdout(), resp)
	return resp, nil
}

// printJSON writes m as indented canonical JSON.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitDefaultValues: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
