// Package pagetoken makes the page tokens of the API's list methods:
// opaque, and bound to the query that issued them.
//
// A token is the base64url (unpadded) encoding of a small protobuf-wire
// message: field 1, a version byte string; field 2, the first 16 bytes of
// the SHA-256 of the query (method, caller, every filter); field 3, the key
// of the last item of the page. A token presented with another query is
// refused with InvalidArgument naming pageToken, and so is anything this
// package did not encode.
//
// No secret goes into the hash, on purpose: a token is a resume position
// in a result the caller may read anyway, so a forged token can only skip
// ahead in the caller's own result, which page_size already allows. The
// binding is there to catch a token passed with the wrong filters (which
// would silently skip or repeat items), not to authorise anything; the
// method reads the caller's rights on every page as on the first.
package pagetoken

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pedigree-project/pedigree/services/internal/apierr"
)

// version is the token format; a token of another version is refused.
const version = 1

// maxToken bounds the token a caller may send (base64 characters).
const maxToken = 1024

// Field is the request field every list method reads its token from, as
// errors name it.
const Field = "pageToken"

// Query identifies one query: tokens it issues are refused by any other.
type Query struct {
	sum [16]byte
}

// For returns the query of method (its full gRPC name) with the given
// filters, in a fixed order; include the caller's GLN when the result
// depends on who asks. Filters are length-prefixed, so ("ab", "c") and
// ("a", "bc") differ.
func For(method string, filters ...string) Query {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range append([]string{method}, filters...) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var q Query
	copy(q.sum[:], h.Sum(nil))
	return q
}

// Token returns the token of the page after the item whose key is key.
func (q Query) Token(key string) string {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, version)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, q.sum[:])
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// After returns the key a token resumes after; "" for no token (the first
// page). A token of another query, or not issued by Token, is an
// InvalidArgument error naming pageToken.
func (q Query) After(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	bad := apierr.Invalid(Field, "not a page token this API returned")
	if len(token) > maxToken {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", bad
	}
	var (
		ver      uint64
		sum, key []byte
		seen     [4]bool
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num < 1 || num > 3 || seen[num] {
			return "", bad
		}
		seen[num] = true
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			ver, n = protowire.ConsumeVarint(b)
		case num == 2 && typ == protowire.BytesType:
			sum, n = protowire.ConsumeBytes(b)
		case num == 3 && typ == protowire.BytesType:
			key, n = protowire.ConsumeBytes(b)
		default:
			return "", bad
		}
		if n < 0 {
			return "", bad
		}
		b = b[n:]
	}
	if ver != version || !seen[2] || !seen[3] {
		return "", bad
	}
	if !bytes.Equal(sum, q.sum[:]) {
		return "", apierr.Invalid(Field, "the token was issued for another query: repeat the filters of the request that returned it")
	}
	return string(key), nil
}

// Page reads a request's page_size and page_token for query q: the page's
// size (Size) and the key the page starts after ("" for the first page).
func (q Query) Page(pageSize int32, token string) (size int, after string, err error) {
	if size, err = Size(pageSize); err != nil {
		return 0, "", err
	}
	if after, err = q.After(token); err != nil {
		return 0, "", err
	}
	return size, after, nil
}

// Size reads a request's page_size: 0 means 100, else 1–1,000.
func Size(n int32) (int, error) {
	switch {
	case n == 0:
		return 100, nil
	case n < 0 || n > 1000:
		return 0, apierr.Invalid("pageSize", "1–1,000, got %d", n)
	}
	return int(n), nil
}
