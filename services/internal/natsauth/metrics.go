package natsauth

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	accepted, refused, disconnected, rateLimited prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		accepted:     prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_nats_auth_accepted_total", Help: "NATS connections authenticated."}),
		refused:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_nats_auth_refused_total", Help: "NATS connections refused."}),
		disconnected: prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_nats_auth_disconnected_total", Help: "NATS connections closed because their grant no longer held or their party exceeded its rate."}),
		rateLimited:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_nats_rate_limited_total", Help: "Times a party was cut off for exceeding its publish rate."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.accepted, m.refused, m.disconnected, m.rateLimited} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("natsauth: metrics: %w", err)
		}
	}
	return m, nil
}
