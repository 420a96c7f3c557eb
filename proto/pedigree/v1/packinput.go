package pedigreev1

// BarcodeInput returns a PackInput that names a pack by the raw scan (a
// GS1 element string, the bracketed form or a Digital Link URI).
func BarcodeInput(barcode string) *PackInput {
	return &PackInput{Input: &PackInput_Barcode{Barcode: barcode}}
}

// CodeInput returns a PackInput that names a pack by its fields.
func CodeInput(code *PackCode) *PackInput {
	return &PackInput{Input: &PackInput_Code{Code: code}}
}
