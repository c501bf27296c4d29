// Concrete readers behind CaptureReader::open. Internal to ingest.
#pragma once

#include <memory>

#include "darklens/ingest/ingest.hpp"
#include "stream.hpp"

namespace darklens::ingest {

/// Classic pcap (standard and nanosecond magics), read in place.
std::unique_ptr<CaptureReader> make_classic_pcap_reader(std::unique_ptr<ByteStream> stream);
/// pcapng and modified pcap, through libpcap.
std::unique_ptr<CaptureReader> make_pcap_reader(std::unique_ptr<ByteStream> stream, Format format);
std::unique_ptr<CaptureReader> make_darkvec_csv_reader(std::unique_ptr<ByteStream> stream);
/// CAIDA corsaro3 / STARDUST FlowTuple records in an Avro container file.
std::unique_ptr<CaptureReader> make_flowtuple_reader(std::unique_ptr<ByteStream> stream);

/// Synthetic address for an anonymised DarkVec token (docs/ingest.md):
/// "src_ipaddrN" -> 240.0.0.0 + N, "dst_ipaddrN" -> 241.0.0.0 + N
/// (N < 2^24); any other token -> fd00::/8 + 120 bits of a hash of it.
IpAddr synthetic_address(std::string_view token);

}  // namespace darklens::ingest
