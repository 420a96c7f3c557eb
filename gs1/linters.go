package gs1

// Linters validate the content of one component of an AI value. They follow
// the reference linters of the GS1 Barcode Syntax Dictionary: each returns ""
// when the data is acceptable, or the name of the GS1 linter error (e.g.
// "INCORRECT_CHECK_DIGIT") with the position and length of the offending
// bytes within the component.

// linterFunc is the signature of a linter.
type linterFunc func(s string) (code string, pos, n int)

// linterTable maps the linter names used in the dictionary to their code.
var linterTable = map[string]linterFunc{
	"csum":           lintCsum,
	"csumalpha":      lintCsumAlpha,
	"gcppos1":        lintGCPPos1,
	"gcppos2":        lintGCPPos2,
	"yymmdd":         func(s string) (string, int, int) { return lintDate(s, 2, false) },
	"yymmd0":         func(s string) (string, int, int) { return lintDate(s, 2, true) },
	"yyyymmdd":       func(s string) (string, int, int) { return lintDate(s, 4, false) },
	"yyyymmd0":       func(s string) (string, int, int) { return lintDate(s, 4, true) },
	"hh":             func(s string) (string, int, int) { return lintTimePart(s, 23, "HOUR") },
	"mi":             func(s string) (string, int, int) { return lintTimePart(s, 59, "MINUTE") },
	"ss":             func(s string) (string, int, int) { return lintTimePart(s, 59, "SECOND") },
	"hhmi":           lintHHMI,
	"iso3166":        func(s string) (string, int, int) { return lintList(s, iso3166Codes, "NOT_ISO3166") },
	"iso3166999":     lintISO3166or999,
	"iso3166alpha2":  func(s string) (string, int, int) { return lintList(s, iso3166Alpha2Codes, "NOT_ISO3166_ALPHA2") },
	"iso4217":        func(s string) (string, int, int) { return lintList(s, iso4217Codes, "NOT_ISO4217") },
	"mediatype":      func(s string) (string, int, int) { return lintList(s, mediaTypeCodes, "INVALID_MEDIA_TYPE") },
	"packagetype":    func(s string) (string, int, int) { return lintList(s, packageTypeCodes, "INVALID_PACKAGE_TYPE") },
	"iso5218":        func(s string) (string, int, int) { return lintOneOf(s, "0129", "INVALID_BIOLOGICAL_SEX_CODE") },
	"winding":        func(s string) (string, int, int) { return lintOneOf(s, "019", "INVALID_WINDING_DIRECTION") },
	"yesno":          func(s string) (string, int, int) { return lintOneOf(s, "01", "NOT_ZERO_OR_ONE") },
	"zero":           lintZero,
	"hyphen":         lintHyphen,
	"importeridx":    lintImporterIdx,
	"iban":           lintIBAN,
	"latitude":       func(s string) (string, int, int) { return lintCoordinate(s, 1800000000, "LATITUDE") },
	"longitude":      func(s string) (string, int, int) { return lintCoordinate(s, 3600000000, "LONGITUDE") },
	"nonzero":        lintNonZero,
	"nozeroprefix":   lintNoZeroPrefix,
	"hasnondigit":    lintHasNonDigit,
	"pcenc":          lintPcEnc,
	"pieceoftotal":   lintPieceOfTotal,
	"posinseqslash":  lintPosInSeqSlash,
	"couponcode":     lintCouponCode,
	"couponposoffer": lintCouponPosOffer,
}

// csetLinter returns the character-set linter of a component.
func csetLinter(c charset) linterFunc {
	switch c {
	case csetN:
		return lintNumeric
	case csetY:
		return lintCset39
	case csetZ:
		return lintCset64
	default:
		return lintCset82
	}
}

// cset82 marks the bytes of GS1 AI encodable character set 82.
var cset82 = func() (t [256]bool) {
	for _, c := range "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

// cset39 marks the bytes of GS1 AI encodable character set 39.
var cset39 = func() (t [256]bool) {
	for _, c := range "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		t[c] = true
	}
	return t
}()

// cset64 marks the bytes of GS1 AI encodable character set 64 (base64url).
var cset64 = func() (t [256]bool) {
	for _, c := range "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// firstNonDigit returns the index of the first non-digit of s, or -1.
func firstNonDigit(s string) int {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return i
		}
	}
	return -1
}

func lintNumeric(s string) (string, int, int) {
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	return "", 0, 0
}

func lintCset82(s string) (string, int, int) {
	for i := 0; i < len(s); i++ {
		if !cset82[s[i]] {
			return "INVALID_CSET82_CHARACTER", i, 1
		}
	}
	return "", 0, 0
}

func lintCset39(s string) (string, int, int) {
	for i := 0; i < len(s); i++ {
		if !cset39[s[i]] {
			return "INVALID_CSET39_CHARACTER", i, 1
		}
	}
	return "", 0, 0
}

func lintCset64(s string) (string, int, int) {
	pads := 0
	for pads < len(s) && s[len(s)-pads-1] == '=' {
		pads++
	}
	n := len(s) - pads
	if pads > 2 || (pads > 0 && len(s)%3 != 0) {
		return "INVALID_CSET64_PADDING", n, pads
	}
	for i := 0; i < n; i++ {
		if !cset64[s[i]] {
			return "INVALID_CSET64_CHARACTER", i, 1
		}
	}
	return "", 0, 0
}

// checkDigitSum returns the GS1 mod-10 check digit for the digits of s.
func checkDigitSum(s string) byte {
	sum, weight := 0, 3
	for i := len(s) - 1; i >= 0; i-- {
		sum += int(s[i]-'0') * weight
		weight = 4 - weight
	}
	return byte('0' + (10-sum%10)%10)
}

func lintCsum(s string) (string, int, int) {
	if len(s) == 0 {
		return "TOO_SHORT_FOR_CHECK_DIGIT", 0, 0
	}
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	if checkDigitSum(s[:len(s)-1]) != s[len(s)-1] {
		return "INCORRECT_CHECK_DIGIT", len(s) - 1, 1
	}
	return "", 0, 0
}

// csumAlphaPrimes are the weights of the alphanumeric check character pair.
var csumAlphaPrimes = [...]int{
	2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
	97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191,
	193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293,
	307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419,
	421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509,
}

const (
	cset82Order = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
	cset32Order = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
)

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func lintCsumAlpha(s string) (string, int, int) {
	n := len(s)
	if n < 2 {
		return "TOO_SHORT_FOR_CHECK_PAIR", 0, n
	}
	if n-2 > len(csumAlphaPrimes) {
		return "TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION", 0, n
	}
	for i := 0; i < n-2; i++ {
		if !cset82[s[i]] {
			return "INVALID_CSET82_CHARACTER", i, 1
		}
	}
	sum := 0
	for i := 0; i < n-2; i++ {
		sum += indexByte(cset82Order, s[i]) * csumAlphaPrimes[n-3-i]
	}
	sum %= 1021
	if s[n-2] != cset32Order[sum>>5] || s[n-1] != cset32Order[sum&31] {
		return "INCORRECT_CHECK_PAIR", n - 2, 2
	}
	return "", 0, 0
}

// gcpMinLength is the length of the shortest GS1 Company Prefix.
const gcpMinLength = 4

func lintGCPPos1(s string) (string, int, int) {
	if len(s) < gcpMinLength {
		return "TOO_SHORT_FOR_GCP", 0, len(s)
	}
	for i := 0; i < gcpMinLength; i++ {
		if !isDigit(s[i]) {
			return "INVALID_GCP_PREFIX", i, 1
		}
	}
	return "", 0, 0
}

func lintGCPPos2(s string) (string, int, int) {
	if len(s) < 1 {
		return "TOO_SHORT_FOR_GCP", 0, 0
	}
	code, pos, n := lintGCPPos1(s[1:])
	if code == "TOO_SHORT_FOR_GCP" {
		return code, 0, len(s)
	}
	if code != "" {
		pos++
	}
	return code, pos, n
}

func daysIn(month, year int, twoDigitYear bool) int {
	switch month {
	case 2:
		leap := year%4 == 0
		if !twoDigitYear {
			leap = leap && (year%100 != 0 || year%400 == 0)
		}
		if leap {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// lintDate checks YYMMDD (ylen 2) or YYYYMMDD (ylen 4) dates; zeroDay
// permits day "00" (meaning the last day of the month).
func lintDate(s string, ylen int, zeroDay bool) (string, int, int) {
	want := ylen + 4
	switch {
	case len(s) < want:
		return "DATE_TOO_SHORT", 0, len(s)
	case len(s) > want:
		return "DATE_TOO_LONG", 0, len(s)
	}
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	year := atoi(s[:ylen])
	month := atoi(s[ylen : ylen+2])
	day := atoi(s[ylen+2:])
	if month < 1 || month > 12 {
		return "ILLEGAL_MONTH", ylen, 2
	}
	if (day == 0 && !zeroDay) || day > daysIn(month, year, ylen == 2) {
		return "ILLEGAL_DAY", ylen + 2, 2
	}
	return "", 0, 0
}

// atoi converts a short string of digits; callers check the digits.
func atoi(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}

func lintTimePart(s string, max int, unit string) (string, int, int) {
	switch {
	case len(s) < 2:
		return unit + "_TOO_SHORT", 0, len(s)
	case len(s) > 2:
		return unit + "_TOO_LONG", 0, len(s)
	}
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	if atoi(s) > max {
		return "ILLEGAL_" + unit, 0, 2
	}
	return "", 0, 0
}

func lintHHMI(s string) (string, int, int) {
	switch {
	case len(s) < 4:
		return "HOUR_WITH_MINUTE_TOO_SHORT", 0, len(s)
	case len(s) > 4:
		return "HOUR_WITH_MINUTE_TOO_LONG", 0, len(s)
	}
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	if atoi(s[:2]) > 23 {
		return "ILLEGAL_HOUR", 0, 2
	}
	if atoi(s[2:]) > 59 {
		return "ILLEGAL_MINUTE", 2, 2
	}
	return "", 0, 0
}

// inList reports whether code is one of the space-separated words of list.
func inList(list, code string) bool {
	if code == "" {
		return false
	}
	for start := 0; start < len(list); {
		end := start
		for end < len(list) && list[end] != ' ' {
			end++
		}
		if list[start:end] == code {
			return true
		}
		start = end + 1
	}
	return false
}

func lintList(s, list, code string) (string, int, int) {
	if !inList(list, s) {
		return code, 0, len(s)
	}
	return "", 0, 0
}

func lintISO3166or999(s string) (string, int, int) {
	if s != "999" && !inList(iso3166Codes, s) {
		return "NOT_ISO3166_OR_999", 0, len(s)
	}
	return "", 0, 0
}

// lintOneOf accepts exactly one character from valid.
func lintOneOf(s, valid, code string) (string, int, int) {
	if len(s) != 1 || indexByte(valid, s[0]) < 0 {
		return code, 0, len(s)
	}
	return "", 0, 0
}

// lintRepeated accepts one or more copies of the byte c.
func lintRepeated(s string, c byte, code string) (string, int, int) {
	if len(s) == 0 {
		return code, 0, 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			return code, 0, len(s)
		}
	}
	return "", 0, 0
}

func lintHyphen(s string) (string, int, int) { return lintRepeated(s, '-', "NOT_HYPHEN") }

func lintZero(s string) (string, int, int) { return lintRepeated(s, '0', "NOT_ZERO") }

func lintImporterIdx(s string) (string, int, int) {
	if len(s) != 1 {
		return "IMPORTER_IDX_MUST_BE_ONE_CHARACTER", 0, len(s)
	}
	c := s[0]
	if !(isDigit(c) || c == '-' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
		return "INVALID_IMPORT_IDX_CHARACTER", 0, 1
	}
	return "", 0, 0
}

// IBAN length limits (ISO 13616).
const (
	ibanMinLength = 11
	ibanMaxLength = 34
)

func lintIBAN(s string) (string, int, int) {
	switch {
	case len(s) < ibanMinLength:
		return "IBAN_TOO_SHORT", 0, len(s)
	case len(s) > ibanMaxLength:
		return "IBAN_TOO_LONG", 0, len(s)
	}
	if !inList(iso3166Alpha2Codes, s[:2]) {
		return "ILLEGAL_IBAN_COUNTRY_CODE", 0, 2
	}
	weight := func(c byte) int {
		switch {
		case isDigit(c):
			return int(c - '0')
		case c >= 'A' && c <= 'Z':
			return int(c-'A') + 10
		}
		return -1
	}
	for i := 2; i < 4; i++ {
		if weight(s[i]) < 0 {
			return "INVALID_IBAN_CHARACTER", i, 1
		}
	}
	sum := 0
	for k := 0; k < len(s); k++ {
		i := (k + 4) % len(s)
		w := weight(s[i])
		if w < 0 {
			return "INVALID_IBAN_CHARACTER", i, 1
		}
		if w < 10 {
			sum = (sum*10 + w) % 97
		} else {
			sum = (sum*100 + w) % 97
		}
	}
	if sum != 1 {
		return "INCORRECT_IBAN_CHECKSUM", 2, 2
	}
	return "", 0, 0
}

func lintCoordinate(s string, max int, what string) (string, int, int) {
	if len(s) != 10 {
		return what + "_INVALID_LENGTH", 0, len(s)
	}
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	if atoi(s) > max {
		return "INVALID_" + what, 0, 10
	}
	return "", 0, 0
}

func lintNonZero(s string) (string, int, int) {
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return "", 0, 0
		}
	}
	return "ILLEGAL_ZERO_VALUE", 0, len(s)
}

func lintNoZeroPrefix(s string) (string, int, int) {
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	if len(s) > 0 && s[0] == '0' {
		return "ILLEGAL_ZERO_PREFIX", 0, 1
	}
	return "", 0, 0
}

func lintHasNonDigit(s string) (string, int, int) {
	if firstNonDigit(s) < 0 {
		return "REQUIRES_NON_DIGIT_CHARACTER", 0, len(s)
	}
	return "", 0, 0
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')
}

func lintPcEnc(s string) (string, int, int) {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "INVALID_PERCENT_SEQUENCE", i, min(3, len(s)-i)
		}
		i += 2
	}
	return "", 0, 0
}

func lintPieceOfTotal(s string) (string, int, int) {
	if len(s) == 0 || len(s)%2 != 0 {
		return "INVALID_LENGTH_FOR_PIECE_OF_TOTAL", 0, len(s)
	}
	if i := firstNonDigit(s); i >= 0 {
		return "NON_DIGIT_CHARACTER", i, 1
	}
	h := len(s) / 2
	piece, total := atoi(s[:h]), atoi(s[h:])
	switch {
	case piece == 0:
		return "ZERO_PIECE_NUMBER", 0, h
	case total == 0:
		return "ZERO_TOTAL_PIECES", h, h
	case piece > total:
		return "PIECE_NUMBER_EXCEEDS_TOTAL", 0, len(s)
	}
	return "", 0, 0
}

func lintPosInSeqSlash(s string) (string, int, int) {
	slash := indexByte(s, '/')
	if slash <= 0 || slash == len(s)-1 || !allDigits(s[:slash]) || !allDigits(s[slash+1:]) {
		return "POSITION_IN_SEQUENCE_MALFORMED", 0, len(s)
	}
	pos, end := s[:slash], s[slash+1:]
	if pos[0] == '0' {
		return "ILLEGAL_ZERO_PREFIX", 0, len(pos)
	}
	if end[0] == '0' {
		return "ILLEGAL_ZERO_PREFIX", slash + 1, len(end)
	}
	if len(pos) > len(end) || (len(pos) == len(end) && pos > end) {
		return "POSITION_EXCEEDS_END", 0, len(s)
	}
	return "", 0, 0
}
