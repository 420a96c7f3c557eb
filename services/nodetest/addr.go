package nodetest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreeAddr returns a loopback address nothing listens on, for a test that
// must know a port before the process that listens on it starts (a
// cluster's route and peer URLs, a node restarted on its old ports).
//
// The port is taken below the kernel's ephemeral range: a port picked with
// ":0" lies inside it, and between the moment it is released and the
// moment it is bound again any outgoing connection on the machine may be
// given it as its local port, which fails the bind. Below the range only
// another listener can take it, and the bind check here rules out the ones
// already there.
func FreeAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	const floor = 10000
	for range 200 {
		port := floor + rand.IntN(low-floor)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return addr
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range, 32768
// (Linux's default) where it cannot be read.
func ephemeralLow() int {
	const fallback = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return fallback
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low <= 10000+1000 {
		return fallback
	}
	return low
}
