package lifecycle

import "strings"

// Authority: who may do what with the master data. The ledger node's
// pipeline decides with these functions, and the API services call the same
// ones before they submit, so that a caller who may not do something hears
// it at once and in the words the ledger would record.
//
// Roles: an admin runs the node and may do anything; a regulator registers
// parties other than admins and reviews alerts; a manufacturer (or a
// parallel importer) registers its own products and their batches; every
// party manages its own signing keys and API tokens.

// RoleWord names a role in lower-case words, e.g. "hospital pharmacy".
func RoleWord(r Role) string {
	if r == RoleUnspecified {
		return "party without a role"
	}
	return strings.ToLower(strings.ReplaceAll(r.String(), "_", " "))
}

// SeesAll reports whether a party of role r may read every party's records
// (packs, provenance, alerts, the ledger's entries): a regulator or an
// admin.
func SeesAll(r Role) bool { return r.Authority() }

// MayRegisterParty refuses unless actor may register a party of role role:
// an admin or a regulator, and only an admin registers another admin.
func MayRegisterParty(actor Role, role Role) Refusal {
	if !actor.Authority() {
		return refusal(OutcomeNotAuthorized, "only an admin or a regulator may register parties (the sender is "+roleNoun(actor)+")")
	}
	if role == RoleAdmin && actor != RoleAdmin {
		return refusal(OutcomeNotAuthorized, "only an admin may register another admin")
	}
	return Refusal{}
}

// MayTrustNodeKey refuses unless actor is an admin: only an admin trusts
// another ledger node's key.
func MayTrustNodeKey(actor Role) Refusal {
	if actor != RoleAdmin {
		return refusal(OutcomeNotAuthorized, "only an admin may trust a node key")
	}
	return Refusal{}
}

// MayReviewAlert refuses unless actor is a regulator or an admin.
func MayReviewAlert(actor Role) Refusal {
	if !actor.Authority() {
		return refusal(OutcomeNotAuthorized, "only regulators and admins review alerts (the sender is "+roleNoun(actor)+")")
	}
	return Refusal{}
}

// MayManageKeys refuses unless actor may register or revoke the signing
// keys of party owner: its own, or anyone's for an admin.
func MayManageKeys(actor Party, owner string) Refusal {
	if actor.GLN != owner && actor.Role != RoleAdmin {
		return refusal(OutcomeNotAuthorized, "a party registers its own keys; an admin registers anyone's")
	}
	return Refusal{}
}

// MayManageTokens refuses unless actor may issue or revoke the API tokens
// of party owner: its own, or anyone's for an admin.
func MayManageTokens(actor Party, owner string) Refusal {
	if actor.GLN != owner && actor.Role != RoleAdmin {
		return refusal(OutcomeNotAuthorized, "a party manages its own tokens; an admin manages anyone's")
	}
	return Refusal{}
}

// MayRegisterProduct refuses unless actor may register a product of the
// manufacturer with GLN manufacturer: a manufacturer or parallel importer
// its own products, an admin anyone's.
func MayRegisterProduct(actor Party, manufacturer string) Refusal {
	if actor.Role == RoleAdmin {
		return Refusal{}
	}
	if actor.Role != RoleManufacturer && actor.Role != RoleParallelImporter {
		return refusal(OutcomeNotAuthorized, "only manufacturers register products (the sender is "+roleNoun(actor.Role)+")")
	}
	if actor.GLN != manufacturer {
		return refusal(OutcomeNotAuthorized, "a manufacturer registers its own products only (sender "+actor.GLN+", manufacturer "+manufacturer+")")
	}
	return Refusal{}
}

// MayRegisterBatch refuses unless actor may register a batch of a product
// whose manufacturer has GLN manufacturer: that manufacturer, or an admin.
func MayRegisterBatch(actor Party, manufacturer string) Refusal {
	if actor.Role != RoleAdmin && actor.GLN != manufacturer {
		return refusal(OutcomeNotAuthorized, "only the product's manufacturer ("+manufacturer+") registers its batches")
	}
	return Refusal{}
}

// MayPerform refuses unless a party of role may perform step with
// disposition d on packs at all, by the table the pack rules apply (the
// rights that depend on the product, such as a manufacturer commissioning
// only its own, are checked per object by Apply).
func MayPerform(role Role, step Step, d Disposition) Refusal {
	if stepAllowed(step, d, role) {
		return Refusal{}
	}
	what := stepNoun(step, d)
	if step == StepDecommissioning || step == StepDestroying {
		what += " with disposition " + d.String()
	}
	return refusal(OutcomeNotAuthorized, "the sender is "+roleNoun(role)+" and may not perform "+what)
}

// MayListSerials refuses unless actor may read the list of a batch's
// serials of a product whose manufacturer has GLN manufacturer: that
// manufacturer, a regulator or an admin. Anyone else holding the list
// could print valid packs.
func MayListSerials(actor Party, manufacturer string) Refusal {
	if actor.GLN != manufacturer && !actor.Role.Authority() {
		return refusal(OutcomeNotAuthorized, "only the product's manufacturer ("+manufacturer+"), regulators and admins list a batch's serials (the sender is "+roleNoun(actor.Role)+")")
	}
	return Refusal{}
}
