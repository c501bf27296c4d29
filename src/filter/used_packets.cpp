// The packets a run uses, read capture after capture.
#include "darklens/filter/filter.hpp"

namespace darklens::filter {

UsedPackets::UsedPackets(Selection selection, std::vector<std::string> paths)
    : selection_(std::move(selection)), paths_(std::move(paths)) {}
UsedPackets::~UsedPackets() = default;

bool UsedPackets::next(std::vector<Packet>& out, size_t max) {
  out.resize(max);
  size_t n = 0;
  while (n < max) {
    if (!reader_) {
      if (next_path_ == paths_.size()) break;
      reader_ = ingest::CaptureReader::open(paths_[next_path_++]);
      apply_bpf(*reader_, selection_.bpf_);
    }
    if (!reader_->next(out[n])) {
      reader_.reset();
      continue;
    }
    if (select_packet(selection_, out[n]) == Selected::kUsed) ++n;
  }
  out.resize(n);
  return reader_ || next_path_ < paths_.size();
}

void for_each_used_packet(const Selection& selection, const std::vector<std::string>& paths,
                          const std::function<void(const Packet&)>& fn) {
  UsedPackets used(selection, paths);
  std::vector<Packet> chunk;
  for (bool more = true; more;) {
    more = used.next(chunk, 4096);
    for (const Packet& p : chunk) fn(p);
  }
}

}  // namespace darklens::filter
