package telemetry

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// pebbleCollector reads a Pebble database's own metrics at each scrape.
type pebbleCollector struct {
	metrics                                  func() *pebble.Metrics
	readAmp, debt, compactions, inProgress   *prometheus.Desc
	diskBytes, flushes, memtableBytes, cache *prometheus.Desc
}

// RegisterPebble exports the health of the Pebble database metrics
// returns the metrics of (pebble.DB.Metrics): read amplification,
// compaction debt, compactions done and running, flushes, disk space,
// memtable and block cache sizes, read at each scrape.
func (t *Telemetry) RegisterPebble(metrics func() *pebble.Metrics) {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	t.Registry.MustRegister(&pebbleCollector{
		metrics:       metrics,
		readAmp:       d("pedigree_pebble_read_amplification", "Sublevels of L0 plus non-empty levels below: files a point read may consult."),
		debt:          d("pedigree_pebble_compaction_debt_bytes", "Pebble's estimate of the bytes to compact for the LSM to reach a stable state."),
		compactions:   d("pedigree_pebble_compactions_total", "Compactions completed since the database was opened."),
		inProgress:    d("pedigree_pebble_compactions_in_progress", "Compactions running."),
		diskBytes:     d("pedigree_pebble_disk_usage_bytes", "Disk space Pebble uses: tables, blob files, WAL, manifests."),
		flushes:       d("pedigree_pebble_flushes_total", "Memtable flushes since the database was opened."),
		memtableBytes: d("pedigree_pebble_memtable_bytes", "Bytes allocated to memtables."),
		cache:         d("pedigree_pebble_block_cache_bytes", "Bytes in the block cache."),
	})
}

func (c *pebbleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.readAmp, c.debt, c.compactions, c.inProgress, c.diskBytes, c.flushes, c.memtableBytes, c.cache} {
		ch <- d
	}
}

func (c *pebbleCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.metrics()
	if m == nil {
		return
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	g(c.readAmp, float64(m.ReadAmp()))
	g(c.debt, float64(m.Compact.EstimatedDebt))
	ch <- prometheus.MustNewConstMetric(c.compactions, prometheus.CounterValue, float64(m.Compact.Count))
	g(c.inProgress, float64(m.Compact.NumInProgress))
	g(c.diskBytes, float64(m.DiskSpaceUsage()))
	ch <- prometheus.MustNewConstMetric(c.flushes, prometheus.CounterValue, float64(m.Flush.Count))
	g(c.memtableBytes, float64(m.MemTable.Size))
	g(c.cache, float64(m.BlockCache.Size))
}
