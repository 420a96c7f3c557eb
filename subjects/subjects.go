package subjects

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Subjects and stream names: part of Pedigree's public contract.
const (
	// ScanStream is the JetStream stream every write goes through.
	ScanStream = "SCANS"
	// ScanSubjects is the subject filter of ScanStream.
	ScanSubjects = "pedigree.scan.>"
	// ScanSubjectPrefix is followed by the submitting party's GLN.
	ScanSubjectPrefix = "pedigree.scan."
	// DeadLetterStream keeps what the ledger node could not accept.
	DeadLetterStream = "DEADLETTER"
	// DeadLetterSubject is the subject of DeadLetterStream.
	DeadLetterSubject = "pedigree.deadletter"
	// AlertSubjectPrefix is followed by the GLN of the party whose scan
	// raised the alert and the alert code; each message is a node-signed
	// AlertStatement (envelope.OpenAlert).
	AlertSubjectPrefix = "pedigree.alert."
	// AlertSubjects matches every alert: what regulators follow.
	AlertSubjects = AlertSubjectPrefix + ">"
	// CheckpointSubject carries every signed checkpoint.
	CheckpointSubject = "pedigree.checkpoint"
	// ResultSubjectPrefix is followed by the party GLN and a hash of the
	// message ID; the node-signed outcome of that write (a ResultNotice,
	// envelope.OpenResult) is published there for senders that wait for it.
	ResultSubjectPrefix = "pedigree.result."
)

// ScanSubject returns the subject a party publishes its writes on.
func ScanSubject(partyGLN string) string { return ScanSubjectPrefix + partyGLN }

// ResultSubject returns the subject on which the outcome of the write
// party published with message ID id (an event ID or envelope ID) is
// published: pedigree.result.<party GLN>.<hex SHA-256 of id>. Event IDs
// contain characters that NATS subjects cannot carry, hence the hash; the
// GLN lets a party subscribe to its own outcomes and to no one else's.
func ResultSubject(party, id string) string {
	sum := sha256.Sum256([]byte(id))
	return ResultSubjectPrefix + party + "." + hex.EncodeToString(sum[:])
}

// ResultSubjects returns the filter of every outcome of party's writes.
func ResultSubjects(party string) string { return ResultSubjectPrefix + party + ".>" }

// AlertSubject returns the subject of alerts with code (e.g.
// "CLONE_SUSPECTED") raised by party's scans.
func AlertSubject(party, code string) string { return AlertSubjectPrefix + party + "." + code }

// PartyAlertSubjects returns the filter of every alert raised by party's
// scans.
func PartyAlertSubjects(party string) string { return AlertSubjectPrefix + party + ".>" }

// InboxPrefix is the reply inbox prefix a party's connections must use
// (nats.CustomInboxPrefix): the only inbox they may subscribe to.
func InboxPrefix(gln string) string { return "_INBOX." + gln }

// Limits every publisher must respect.
const (
	// DefaultMaxMsgSize is the largest write, in bytes, a node takes unless
	// configured otherwise.
	DefaultMaxMsgSize = 4 << 20
	// DefaultDuplicateWindow is how long the SCANS stream remembers a
	// message ID, so that a resend with the same ID is stored once.
	DefaultDuplicateWindow = 2 * time.Minute
)
