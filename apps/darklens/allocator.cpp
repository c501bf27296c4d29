// The command-line tool allocates through jemalloc (when built with it):
// per-source feature state is millions of small objects, and on virtual
// machines every first touch of a 4 KiB page costs microseconds. Backing
// jemalloc's memory with transparent huge pages cut `darklens features`
// by a quarter (docs/performance.md). The library itself never picks an
// allocator for its host program.
extern "C" {
// Read by jemalloc at start-up (its documented compile-time configuration).
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
