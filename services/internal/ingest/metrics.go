package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events      prometheus.Counter
	entries     prometheus.Counter
	duplicates  prometheus.Counter
	deadLetters prometheus.Counter
	alerts      *prometheus.CounterVec
	batchSize   prometheus.Histogram
	commit      prometheus.Histogram
	stalls      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events:      prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_ingest_events_total", Help: "Scan events recorded in the ledger."}),
		entries:     prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_ingest_entries_total", Help: "Ledger entries appended."}),
		duplicates:  prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_ingest_duplicate_events_total", Help: "Events already on the ledger, recorded as duplicates."}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_ingest_dead_letters_total", Help: "Messages sent to the dead-letter stream."}),
		alerts:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pedigree_alerts_total", Help: "Alerts raised, by code."}, []string{"code"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pedigree_ingest_batch_messages", Help: "Messages per consumed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7)}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pedigree_ingest_commit_seconds", Help: "Time to commit one batch to Pebble with Sync.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)}),
		stalls: prometheus.NewCounter(prometheus.CounterOpts{Name: "pedigree_ingest_consumer_stalls_total",
			Help: "Times the consumer delivered nothing while the stream held messages the ledger needs, and was made anew."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.events, m.entries, m.duplicates, m.deadLetters, m.alerts, m.batchSize, m.commit, m.stalls} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
