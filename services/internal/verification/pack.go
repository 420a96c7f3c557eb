package verification

import (
	"errors"
	"strings"

	"github.com/pedigree-project/pedigree/gs1"
	pb "github.com/pedigree-project/pedigree/proto/pedigree/v1"
	"github.com/pedigree-project/pedigree/services/internal/apierr"
)

// scanOptions parse what pharmacy scanners send: strict GS1 syntax, but
// Digital Link URIs may carry the lot as a query parameter, as printed
// packs in circulation do.
var scanOptions = gs1.Options{PermitQualifiersInQuery: true}

// maxBarcode bounds the raw scan a caller may send.
const maxBarcode = 512

// packCode reads a PackInput: the raw scan in any of the three GS1 forms,
// or structured fields (exactly one: the input is a oneof). field names the input in errors ("pack",
// "packs[3]").
func packCode(in *pb.PackInput, field string) (*pb.PackCode, error) {
	switch in.GetInput().(type) {
	case *pb.PackInput_Barcode:
		return barcodeCode(in.GetBarcode(), field+".barcode")
	case *pb.PackInput_Code:
		if in.GetCode() == nil {
			return nil, apierr.Invalid(field+".code", "required: gtin and serial")
		}
	default:
		return nil, apierr.Invalid(field, "required: give barcode (the raw scan) or code (gtin, serial, lot, expiry)")
	}
	c := in.GetCode()
	if !gs1.ValidGTIN(c.GetGtin()) {
		return nil, apierr.Invalid(field+".code.gtin", "must be a GTIN-14: 14 digits with a valid GS1 check digit, got %q", c.GetGtin())
	}
	if !gs1.ValidSerial(c.GetSerial()) {
		return nil, apierr.Invalid(field+".code.serial", "must be 1–20 characters of GS1 character set 82, got %q", c.GetSerial())
	}
	if l := c.GetLot(); l != "" && (len(l) > 20 || !gs1.ValidCSet82(l)) {
		return nil, apierr.Invalid(field+".code.lot", "must be 1–20 characters of GS1 character set 82, got %q", l)
	}
	return &pb.PackCode{Gtin: c.GetGtin(), Serial: c.GetSerial(), Lot: c.GetLot(), Expiry: c.GetExpiry()}, nil
}

// barcodeCode parses a raw scan; field names it in errors.
func barcodeCode(barcode, field string) (*pb.PackCode, error) {
	if barcode == "" {
		return nil, apierr.Invalid(field, "required: the raw scan")
	}
	if len(barcode) > maxBarcode {
		return nil, apierr.Invalid(field, "at most %d characters, got %d", maxBarcode, len(barcode))
	}
	r, err := scanOptions.Parse(barcode)
	if err != nil {
		var ge *gs1.Error
		if errors.As(err, &ge) {
			return nil, apierr.Invalid(field, "%s", strings.TrimPrefix(ge.Error(), "gs1: "))
		}
		return nil, apierr.Invalid(field, "%v", err)
	}
	if r.GTIN == "" || r.Serial == "" {
		return nil, apierr.Invalid(field, "the scan has no GTIN (01) and serial (21): not a pack's unique identifier")
	}
	return &pb.PackCode{Gtin: r.GTIN, Serial: r.Serial, Lot: r.Lot, Expiry: r.Expiry}, nil
}
