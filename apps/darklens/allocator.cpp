// The command-line tool allocates through jemalloc (when built with it):
// per-source feature state is millions of small objects, and on virtual
// machines every first touch of a 4 KiB page costs microseconds. Measured
// on `darklens features` (docs/performance.md): huge pages (thp:always)
// 3.8 s -> 2.9 s; two arenas and no decay (a batch tool keeps what it
// freed instead of handing it back and faulting it in again) -> 1.7 s.
// MALLOC_CONF in the environment still overrides this. The library itself
// never picks an allocator for its host program.
extern "C" {
// Read by jemalloc at start-up (its documented compile-time configuration).
const char* malloc_conf = "thp:always,metadata_thp:auto,narenas:2,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
