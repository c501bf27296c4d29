// A growable array in blocks of 1024 elements: elements never move (so
// references stay valid and growth copies nothing), and unlike std::deque,
// whose blocks are 512 bytes, large elements still sit side by side.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace darklens::features {

template <typename T>
class ChunkedVector {
 public:
  static constexpr size_t kBlock = 1024;

  T& emplace_back() {
    if (size_ == blocks_.size() * kBlock) blocks_.push_back(std::make_unique<T[]>(kBlock));
    return (*this)[size_++];
  }
  T& operator[](size_t i) { return blocks_[i / kBlock][i % kBlock]; }
  const T& operator[](size_t i) const { return blocks_[i / kBlock][i % kBlock]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  size_t size_ = 0;
};

}  // namespace darklens::features
