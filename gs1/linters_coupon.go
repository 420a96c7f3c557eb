package gs1

// The coupon linters check the North American coupon codes carried in AIs
// (8110) and (8112), following the GS1 reference linters couponcode and
// couponposoffer.

// couponCursor walks the fields of a coupon code. Every failure reports the
// GS1 linter error code with the position and length of the faulty field.
type couponCursor struct {
	s    string
	p    int
	code string
	pos  int
	n    int
}

func (c *couponCursor) fail(code string, pos, n int) bool {
	if c.code == "" {
		c.code, c.pos, c.n = code, pos, n
	}
	return false
}

// truncated reports a field shorter than want: the remaining bytes, or the
// whole data when nothing remains.
func (c *couponCursor) truncated(code string, want int) bool {
	if len(c.s)-c.p >= want {
		return true
	}
	if c.p == len(c.s) {
		return c.fail(code, 0, len(c.s))
	}
	return c.fail(code, c.p, len(c.s)-c.p)
}

// digit consumes one digit that must satisfy ok.
func (c *couponCursor) digit(missing, invalid string, ok func(byte) bool) (byte, bool) {
	if c.p == len(c.s) {
		return 0, c.fail(missing, 0, len(c.s))
	}
	d := c.s[c.p]
	if !ok(d) {
		return 0, c.fail(invalid, c.p, 1)
	}
	c.p++
	return d, true
}

// vliField consumes a variable-length indicator and the field it sizes. size
// maps the indicator digit to the field length.
func (c *couponCursor) vliField(missing, invalid, trunc string, ok func(byte) bool, size func(byte) int) (string, bool) {
	d, good := c.digit(missing, invalid, ok)
	if !good {
		return "", false
	}
	n := size(d)
	if !c.truncated(trunc, n) {
		return "", false
	}
	f := c.s[c.p : c.p+n]
	c.p += n
	return f, true
}

// fixed consumes a field of exactly n digits.
func (c *couponCursor) fixed(trunc string, n int) (string, bool) {
	if !c.truncated(trunc, n) {
		return "", false
	}
	f := c.s[c.p : c.p+n]
	c.p += n
	return f, true
}

func digitRange(lo, hi byte) func(byte) bool {
	return func(d byte) bool { return d >= lo && d <= hi }
}

func plus6(d byte) int { return int(d-'0') + 6 }
func asLen(d byte) int { return int(d - '0') }

// gcpOr9 sizes a GCP whose indicator "9" means "no GCP".
func gcpOr9(d byte) int {
	if d == '9' {
		return 0
	}
	return plus6(d)
}

func reqCode(d byte) bool  { return d <= '4' || d == '9' }
func gcpVLI9(d byte) bool  { return d <= '6' || d == '9' }
func anyDigit(d byte) bool { return true }

// purchase consumes a purchase requirement (VLI, value, code, family code).
func (c *couponCursor) purchase(nth string) bool {
	_, ok := c.vliField("COUPON_MISSING_"+nth+"_PURCHASE_REQUIREMENT_VLI", "COUPON_INVALID_"+nth+"_PURCHASE_REQUIREMENT_LENGTH",
		"COUPON_TRUNCATED_"+nth+"_PURCHASE_REQUIREMENT", digitRange('1', '5'), asLen)
	if !ok {
		return false
	}
	if _, ok := c.digit("COUPON_MISSING_"+nth+"_PURCHASE_REQUIREMENT_CODE", "COUPON_INVALID_"+nth+"_PURCHASE_REQUIREMENT_CODE", reqCode); !ok {
		return false
	}
	_, ok = c.fixed("COUPON_TRUNCATED_"+nth+"_PURCHASE_FAMILY_CODE", 3)
	return ok
}

// purchaseGCP consumes the GCP of a second or third purchase.
func (c *couponCursor) purchaseGCP(nth string) bool {
	_, ok := c.vliField("COUPON_MISSING_"+nth+"_PURCHASE_GCP_VLI", "COUPON_INVALID_"+nth+"_PURCHASE_GCP_LENGTH",
		"COUPON_TRUNCATED_"+nth+"_PURCHASE_GCP", gcpVLI9, gcpOr9)
	return ok
}

// date consumes a YYMMDD date of an optional field.
func (c *couponCursor) date(short, invalid string) (string, bool) {
	if !c.truncated(short, 6) {
		return "", false
	}
	d := c.s[c.p : c.p+6]
	if code, _, _ := lintDate(d, 2, false); code != "" {
		return "", c.fail(invalid, c.p, 6)
	}
	c.p += 6
	return d, true
}

func (c *couponCursor) result() (string, int, int) { return c.code, c.pos, c.n }

func lintCouponCode(s string) (string, int, int) {
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	c := &couponCursor{s: s}
	if _, ok := c.vliField("COUPON_MISSING_GCP_VLI", "COUPON_INVALID_GCP_LENGTH", "COUPON_TRUNCATED_GCP", digitRange('0', '6'), plus6); !ok {
		return c.result()
	}
	if _, ok := c.fixed("COUPON_TRUNCATED_OFFER_CODE", 6); !ok {
		return c.result()
	}
	if _, ok := c.vliField("COUPON_MISSING_SAVE_VALUE_VLI", "COUPON_INVALID_SAVE_VALUE_LENGTH", "COUPON_TRUNCATED_SAVE_VALUE", digitRange('1', '5'), asLen); !ok {
		return c.result()
	}
	if !c.purchase("1ST") {
		return c.result()
	}
	if c.optional('1') {
		if _, ok := c.digit("COUPON_MISSING_ADDITIONAL_PURCHASE_RULES_CODE", "COUPON_INVALID_ADDITIONAL_PURCHASE_RULES_CODE", digitRange('0', '3')); !ok {
			return c.result()
		}
		if !c.purchase("2ND") || !c.purchaseGCP("2ND") {
			return c.result()
		}
	}
	if c.optional('2') && (!c.purchase("3RD") || !c.purchaseGCP("3RD")) {
		return c.result()
	}
	expiry := ""
	if c.optional('3') {
		d, ok := c.date("COUPON_TOO_SHORT_FOR_EXPIRATION_DATE", "COUPON_INVALID_EXIPIRATION_DATE")
		if !ok {
			return c.result()
		}
		expiry = d
	}
	if c.optional('4') {
		start, ok := c.date("COUPON_TOO_SHORT_FOR_START_DATE", "COUPON_INVALID_START_DATE")
		if !ok {
			return c.result()
		}
		if expiry != "" && start > expiry {
			return "COUPON_EXPIRATION_BEFORE_START", c.p - 14, 14
		}
	}
	if c.optional('5') {
		if _, ok := c.vliField("COUPON_MISSING_SERIAL_NUMBER_VLI", "", "COUPON_TRUNCATED_SERIAL_NUMBER", anyDigit, plus6); !ok {
			return c.result()
		}
	}
	if c.optional('6') {
		if _, ok := c.vliField("COUPON_MISSING_RETAILER_GCP_OR_GLN_VLI", "COUPON_INVALID_RETAILER_GCP_OR_GLN_LENGTH",
			"COUPON_TRUNCATED_RETAILER_GCP_OR_GLN", digitRange('1', '7'), plus6); !ok {
			return c.result()
		}
	}
	if c.optional('9') {
		steps := []struct {
			missing, invalid string
			ok               func(byte) bool
		}{
			{"COUPON_MISSING_SAVE_VALUE_CODE", "COUPON_INVALID_SAVE_VALUE_CODE", func(d byte) bool { return d <= '2' || d == '5' || d == '6' }},
			{"COUPON_MISSING_SAVE_VALUE_APPLIES_TO_ITEM", "COUPON_INVALID_SAVE_VALUE_APPLIES_TO_ITEM", digitRange('0', '2')},
			{"COUPON_MISSING_STORE_COUPON_FLAG", "", anyDigit},
			{"COUPON_MISSING_DONT_MULTIPLY_FLAG", "COUPON_INVALID_DONT_MULTIPLY_FLAG", digitRange('0', '1')},
		}
		for _, st := range steps {
			if _, ok := c.digit(st.missing, st.invalid, st.ok); !ok {
				return c.result()
			}
		}
	}
	if c.p != len(s) {
		return "COUPON_EXCESS_DATA", c.p, len(s) - c.p
	}
	return "", 0, 0
}

// optional consumes the indicator digit of an optional field if present.
func (c *couponCursor) optional(ind byte) bool {
	if c.p < len(c.s) && c.s[c.p] == ind {
		c.p++
		return true
	}
	return false
}

func lintCouponPosOffer(s string) (string, int, int) {
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	c := &couponCursor{s: s}
	if _, ok := c.digit("COUPON_MISSING_FORMAT_CODE", "COUPON_INVALID_FORMAT_CODE", digitRange('0', '1')); !ok {
		return c.result()
	}
	if _, ok := c.vliField("COUPON_MISSING_FUNDER_VLI", "COUPON_INVALID_FUNDER_LENGTH", "COUPON_TRUNCATED_FUNDER", digitRange('0', '6'), plus6); !ok {
		return c.result()
	}
	if _, ok := c.fixed("COUPON_TRUNCATED_OFFER_CODE", 6); !ok {
		return c.result()
	}
	if _, ok := c.vliField("COUPON_MISSING_SERIAL_NUMBER_VLI", "", "COUPON_TRUNCATED_SERIAL_NUMBER", anyDigit, plus6); !ok {
		return c.result()
	}
	if c.p != len(s) {
		return "COUPON_EXCESS_DATA", c.p, len(s) - c.p
	}
	return "", 0, 0
}
