package natsbus

import (
	"crypto/sha256"
	"encoding/hex"
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
	// AlertSubjectPrefix is followed by the alert code.
	AlertSubjectPrefix = "pedigree.alert."
	// CheckpointSubject carries every signed checkpoint.
	CheckpointSubject = "pedigree.checkpoint"
	// ResultSubjectPrefix is followed by the event ID; the outcome of that
	// event is published there for writers that wait for it.
	ResultSubjectPrefix = "pedigree.result."
)

// ScanSubject returns the subject a party publishes its writes on.
func ScanSubject(partyGLN string) string { return ScanSubjectPrefix + partyGLN }

// ResultSubject returns the subject on which the outcome of the write with
// message ID id (an event ID or envelope ID) is published:
// pedigree.result.<hex SHA-256 of id>. Event IDs contain characters that
// NATS subjects cannot carry, hence the hash.
func ResultSubject(id string) string {
	sum := sha256.Sum256([]byte(id))
	return ResultSubjectPrefix + hex.EncodeToString(sum[:])
}

// AlertSubject returns the subject of alerts with code (e.g.
// "CLONE_SUSPECTED").
func AlertSubject(code string) string { return AlertSubjectPrefix + code }
