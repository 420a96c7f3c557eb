package registry

import (
	"encoding/hex"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/apierr"
)

// maxTokenLife bounds how far ahead a token's expiry may be.
const maxTokenLife = 10 * 365 * 24 * time.Hour

// tokenExpiry reads the expiry a CreateTokenRequest asks for, at the
// node's time now: nil when the token never expires.
func tokenExpiry(req *pb.CreateTokenRequest, now time.Time) (*timestamppb.Timestamp, error) {
	at, in := req.GetExpireTime(), req.GetExpiresIn()
	switch {
	case at != nil && in != nil:
		return nil, apierr.Invalid("expiresIn", "give expireTime or expiresIn, not both")
	case in != nil:
		if err := in.CheckValid(); err != nil {
			return nil, apierr.Invalid("expiresIn", "not a valid duration")
		}
		d := in.AsDuration()
		if d < time.Second || d > maxTokenLife {
			return nil, apierr.Invalid("expiresIn", "1 second to 10 years, got %s", d)
		}
		return timestamppb.New(now.Add(d).Truncate(time.Millisecond)), nil
	case at != nil:
		if err := at.CheckValid(); err != nil {
			return nil, apierr.Invalid("expireTime", "not a valid timestamp")
		}
		t := at.AsTime()
		if !t.After(now) || t.Sub(now) > maxTokenLife {
			return nil, apierr.Invalid("expireTime", "in the future and at most 10 years ahead, got %s (the node's time is %s)",
				t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		return timestamppb.New(t.Truncate(time.Millisecond)), nil
	}
	return nil, nil
}

// parseTokenID reads a token ID: 16 lowercase hex digits.
func parseTokenID(s string) ([8]byte, error) {
	var id [8]byte
	if len(s) != 16 {
		return id, errors.New("want 16 hex digits")
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return id, errors.New("want lowercase hex digits")
		}
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err
}
