#include "data/loader.h"

#include <iostream>

#include "tensor/error.h"
#include "tensor/random.h"

namespace rg::data {

namespace {

// A 64-bit key mixing the loader seed with two more numbers (an epoch, an image index...).
uint64_t key(uint64_t seed, uint64_t a, uint64_t b) { return Generator(seed).bits((a << 40) ^ b ^ (a >> 24)); }

std::mutex warn_mutex;

}  // namespace

DataLoader::DataLoader(LabelTable table, std::shared_ptr<const ImageSource> images, LoaderOptions options)
    : table_(std::move(table)), images_(std::move(images)), options_(std::move(options)) {
  RG_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ", options_.batch_size);
  RG_CHECK(options_.width > 0 && options_.height > 0, "DataLoader: image size must be positive, got ", options_.width,
           "x", options_.height);
  RG_CHECK(options_.threads >= 0 && options_.prefetch >= 1, "DataLoader: need threads >= 0 and prefetch >= 1");
  RG_CHECK(options_.ranks >= 1 && options_.rank >= 0 && options_.rank < options_.ranks, "DataLoader: rank ",
           options_.rank, " of ", options_.ranks, " ranks is not a rank");
  RG_CHECK(!table_.images.empty(), "DataLoader: ", table_.source, " has no images");
  images_->check(table_, options_.width, options_.height);
}

DataLoader::~DataLoader() { stop_workers(); }

int64_t DataLoader::batches_per_epoch() const {
  return (int64_t(table_.size()) + options_.batch_size - 1) / options_.batch_size;
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void DataLoader::start_epoch(int epoch, int64_t first_batch) {
  stop_workers();
  epoch_ = epoch;
  order_.resize(table_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  if (options_.shuffle) {  // seeded Fisher-Yates
    Generator gen(key(options_.seed, 1, uint64_t(epoch)));
    const uint64_t first = gen.advance(order_.size());
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[gen.bits(first + i) % i]);
  }
  RG_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(), "DataLoader::start_epoch: batch ", first_batch,
           " is outside the epoch's ", batches_per_epoch(), " batches");
  next_to_make_ = next_to_give_ = first_batch;
  ready_.clear();
  stopping_ = false;
  for (int t = 0; t < options_.threads; ++t) workers_.emplace_back(&DataLoader::worker, this);
}

std::pair<int64_t, int64_t> rank_slice(int64_t begin, int64_t end, int rank, int ranks) {
  const int64_t n = end - begin;
  return {begin + n * rank / ranks, begin + n * (rank + 1) / ranks};
}

DataLoader::Slot DataLoader::make_batch(int64_t index) const {
  const int64_t global_begin = index * options_.batch_size;
  const int64_t global_end = std::min<int64_t>(global_begin + options_.batch_size, int64_t(order_.size()));
  const auto [begin, end] = rank_slice(global_begin, global_end, options_.rank, options_.ranks);
  const int64_t plane = int64_t(options_.width) * options_.height;
  const size_t n_labels = table_.label_names.size();
  std::vector<GrayImage> images;
  std::vector<float> labels;
  Slot slot;
  slot.batch.global_size = global_end - global_begin;
  try {
    for (int64_t i = begin; i < end; ++i) {
      const size_t row = order_[i];
      GrayImage image;
      StoredSize stored;
      try {
        image = images_->load(table_.images[row].image, options_.width, options_.height, stored);
      } catch (const Error& e) {
        if (!options_.skip_bad_images) throw;
        ++skipped_;
        std::lock_guard<std::mutex> lock(warn_mutex);
        std::cerr << "warning: skipping image: " << e.what() << "\n";
        continue;
      }
      if (options_.observe) options_.observe(row, image, stored);
      if (options_.augment) {
        Generator gen(key(options_.seed, 2 + uint64_t(epoch_), row));
        image = augment(image, options_.augmentation, gen);
      }
      images.push_back(std::move(image));
      const auto& y = table_.images[row].labels;
      labels.insert(labels.end(), y.begin(), y.end());
      slot.batch.indices.push_back(row);
    }
    const int64_t n = int64_t(images.size());
    slot.batch.images = Tensor::empty({n, 3, options_.height, options_.width});
    for (int64_t k = 0; k < n; ++k)
      options_.normalization.apply(images[size_t(k)], slot.batch.images.data<float>() + k * 3 * plane);
    slot.batch.labels = Tensor::empty({n, int64_t(n_labels)});
    std::copy(labels.begin(), labels.end(), slot.batch.labels.data<float>());
  } catch (...) {
    slot.error = std::current_exception();
  }
  return slot;
}

void DataLoader::worker() {
  while (true) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || (next_to_make_ < batches_per_epoch() && next_to_make_ < next_to_give_ + options_.prefetch);
      });
      if (stopping_) return;
      index = next_to_make_++;
    }
    Slot slot = make_batch(index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[index] = std::move(slot);
    }
    changed_.notify_all();
  }
}

bool DataLoader::next(Batch& batch) {
  RG_CHECK(!order_.empty(), "DataLoader::next: call start_epoch(epoch) first");
  while (next_to_give_ < batches_per_epoch()) {
    Slot slot;
    if (workers_.empty()) {
      slot = make_batch(next_to_give_++);
    } else {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return ready_.count(next_to_give_) > 0; });
      slot = std::move(ready_[next_to_give_]);
      ready_.erase(next_to_give_++);
      lock.unlock();
      changed_.notify_all();
    }
    if (slot.error) std::rethrow_exception(slot.error);
    if (slot.batch.indices.empty()) continue;  // every image of this batch was skipped
    batch = std::move(slot.batch);
    return true;
  }
  return false;
}

}  // namespace rg::data
