package gs1

import (
	"fmt"
	"strings"
)

// Rule classifies why input was refused. Services map every Rule to an
// invalid-argument answer; the Rule tells which check failed.
type Rule string

// The rules. A Rule's value is stable and may be shown to API clients.
const (
	RuleSyntax        Rule = "syntax"         // malformed input: brackets, URI, symbology identifier
	RuleUnknownAI     Rule = "unknown-ai"     // the AI is not in the dictionary
	RuleEmpty         Rule = "empty"          // an AI without a value, or no AIs at all
	RuleTooShort      Rule = "too-short"      // value shorter than its format allows
	RuleTooLong       Rule = "too-long"       // value longer than its format allows
	RuleCharset       Rule = "charset"        // a character outside the component's character set
	RuleCheckDigit    Rule = "check-digit"    // wrong check digit or check character pair
	RuleDate          Rule = "date"           // impossible date or time
	RuleContent       Rule = "content"        // another dictionary linter refused the value
	RuleRunOn         Rule = "run-on"         // a variable-length value runs into the next AI: GS missing
	RuleRequires      Rule = "requires"       // a required AI pairing is missing, e.g. (21) without (01)
	RuleExcludes      Rule = "excludes"       // two AIs that must not appear together
	RuleRepeat        Rule = "repeat"         // the same AI twice with different values
	RuleDigitalLink   Rule = "digital-link"   // Digital Link structure: key, qualifiers, attributes
	RuleNotGS1        Rule = "not-gs1"        // well-formed, but not GS1 data (plain text symbol)
	RuleLimit         Rule = "limit"          // more AIs or data than this package accepts
	RuleUnsupported   Rule = "unsupported"    // valid input this package cannot convert
	RuleCompanyPrefix Rule = "company-prefix" // company prefix length out of range for the key
)

// Error reports refused input. Every error this package returns for bad input
// is an *Error; use errors.As to get it.
type Error struct {
	// AI is the Application Identifier at fault, e.g. "17"; empty when the
	// fault is not tied to one AI.
	AI string
	// Field is a short, stable name for the AI's data ("gtin", "serial",
	// "lot", "expiry", "sscc", ... or "ai_<AI>"), for API error details.
	Field string
	// Rule says which check failed.
	Rule Rule
	// Lint is the GS1 Syntax Dictionary linter error name (e.g.
	// "INCORRECT_CHECK_DIGIT") when a dictionary linter refused the value.
	Lint string
	// Pos and Len locate the offending bytes within the AI's value, when
	// known (Len 0 otherwise).
	Pos, Len int
	// Msg is the human-readable explanation, without the "gs1: " prefix.
	Msg string
}

// Error returns the message with the "gs1: " prefix.
func (e *Error) Error() string { return "gs1: " + e.Msg }

// fieldNames gives short field names for the AIs services care about.
var fieldNames = map[string]string{
	"00": "sscc", "01": "gtin", "02": "content_gtin", "10": "lot", "11": "production_date",
	"17": "expiry", "21": "serial", "22": "cpv", "235": "tpx", "254": "gln_extension",
	"410": "ship_to", "411": "bill_to", "412": "purchased_from", "413": "ship_for",
	"414": "gln", "415": "pay_to", "416": "production_location", "417": "party",
	"710": "nhrn", "711": "nhrn", "712": "nhrn", "713": "nhrn", "714": "nhrn",
	"715": "nhrn", "716": "nhrn", "717": "nhrn",
}

// nouns name AIs in messages.
var nouns = map[string]string{
	"00": "SSCC", "01": "GTIN", "10": "lot", "17": "expiry date", "21": "serial",
	"414": "GLN", "254": "GLN extension", "11": "production date",
}

func fieldName(ai string) string {
	if f, ok := fieldNames[ai]; ok {
		return f
	}
	if ai == "" {
		return ""
	}
	return "ai_" + ai
}

func noun(ai string) string {
	if n, ok := nouns[ai]; ok {
		return n
	}
	return "value"
}

// newError builds an *Error for ai.
func newError(ai string, rule Rule, format string, args ...any) *Error {
	return &Error{AI: ai, Field: fieldName(ai), Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// lintRule maps a GS1 linter error name to a Rule.
func lintRule(code string) Rule {
	switch {
	case code == "NON_DIGIT_CHARACTER" || strings.HasPrefix(code, "INVALID_CSET"):
		return RuleCharset
	case code == "INCORRECT_CHECK_DIGIT" || code == "INCORRECT_CHECK_PAIR":
		return RuleCheckDigit
	case strings.HasPrefix(code, "ILLEGAL_MONTH") || strings.HasPrefix(code, "ILLEGAL_DAY") ||
		strings.HasPrefix(code, "ILLEGAL_HOUR") || strings.HasPrefix(code, "ILLEGAL_MINUTE") ||
		strings.HasPrefix(code, "ILLEGAL_SECOND") || strings.HasPrefix(code, "DATE_"):
		return RuleDate
	}
	return RuleContent
}

// lintMessages explains the common linter errors in plain words.
var lintMessages = map[string]string{
	"NON_DIGIT_CHARACTER":      "non-digit character %s",
	"INVALID_CSET82_CHARACTER": "character %s is not allowed (GS1 character set 82)",
	"INVALID_CSET39_CHARACTER": "character %s is not allowed (GS1 character set 39)",
	"INVALID_CSET64_CHARACTER": "character %s is not allowed (GS1 character set 64)",
	"INVALID_CSET32_CHARACTER": "check character %s is not allowed (GS1 character set 32)",
	"INCORRECT_CHECK_DIGIT":    "incorrect check digit %s",
	"INCORRECT_CHECK_PAIR":     "incorrect check character pair %s",
	"ILLEGAL_MONTH":            "invalid month %s",
	"ILLEGAL_DAY":              "invalid day %s",
	"ILLEGAL_HOUR":             "invalid hour %s",
	"ILLEGAL_MINUTE":           "invalid minute %s",
	"ILLEGAL_SECOND":           "invalid second %s",
}

// lintError builds the error for a linter failure on value of ai, where the
// linter ran on the component starting at offset off.
func lintError(ai, value, code string, off, pos, n int) *Error {
	pos += off
	bad := ""
	if pos >= 0 && pos+n <= len(value) {
		bad = value[pos : pos+n]
	}
	detail := strings.ToLower(strings.ReplaceAll(code, "_", " "))
	if f, ok := lintMessages[code]; ok {
		detail = fmt.Sprintf(f, sq(bad))
	}
	if code == "INCORRECT_CHECK_DIGIT" && allDigits(value) {
		want := checkDigitSum(value[off:pos]) // the check digit ends its component
		detail = fmt.Sprintf("incorrect check digit '%s' (expected '%c')", bad, want)
	}
	e := newError(ai, lintRule(code), "(%s) %s %s: %s", ai, noun(ai), sq(value), detail)
	e.Lint, e.Pos, e.Len = code, pos, n
	return e
}
