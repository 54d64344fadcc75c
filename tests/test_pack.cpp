// Packs (data/pack.h): what roentgen pack writes, that the loader reads the same pixels from a pack
// as from the folder, and every kind of bad pack refused by name.
#include <doctest/doctest.h>

#include <cmath>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "data/loader.h"
#include "data/merge.h"
#include "data/pack.h"
#include "data/synthetic.h"
#include "data_helpers.h"
#include "tensor/error.h"
#include "tensor/io.h"

using namespace rg;
using namespace rg::data;
using doctest::Contains;

namespace {

// A synthetic dataset at 96 px and its pack at 48 px, made once for this file.
struct Packed {
  test::TempDir dir;
  LabelTable train, valid;
  std::string pack;
  Packed() {
    write_synthetic_dataset(
        dir.str(), {.patients = 30, .max_images_per_patient = 2, .size = 96, .seed = 5, .prevalence_scale = 3.0});
    train = read_labels(dir.file("train.csv"));
    valid = read_labels(dir.file("valid.csv"));
    pack = dir.file("all-48.rgpack");
    write_pack({train, valid}, {.image_dir = dir.file("images"), .out = pack, .size = 48, .threads = 2});
  }
};
const Packed& packed() {
  static const Packed p;
  return p;
}

// Contains for a message built at run time.
doctest::Contains has(const std::string& text) { return doctest::Contains(text.c_str()); }

PackHeader header_of(const std::string& bytes) {
  PackHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  return h;
}

// The pack's bytes with its CRCs recomputed after an edit: what a writer with a bug would make.
std::string resealed(std::string bytes) {
  PackHeader h = header_of(bytes);
  h.tail_crc = pack_crc(bytes.data() + h.index_offset, bytes.size() - h.index_offset);
  h.header_crc = pack_crc(&h, offsetof(PackHeader, header_crc));
  std::memcpy(bytes.data(), &h, sizeof(h));
  return bytes;
}

PackEntry* entries(std::string& bytes) {
  return reinterpret_cast<PackEntry*>(bytes.data() + header_of(bytes).index_offset);
}

void check_refused(const std::string& bytes, const std::string& message) {
  CAPTURE(message);
  CHECK_THROWS_WITH_AS(ImagePack::parse(bytes, "bad.rgpack"), has(message), Error);
}

}  // namespace

TEST_CASE("pack: every image of the tables once, as the folder's resized to whole gray levels, with its labels") {
  const Packed& p = packed();
  const auto pack = ImagePack::open(p.pack);
  CHECK(pack->size() == int64_t(p.train.size() + p.valid.size()));
  CHECK(pack->width() == 48);
  CHECK(pack->label_names() == p.train.label_names);
  CHECK(std::string(pack->source()).find("train.csv") != std::string::npos);
  for (const LabelTable* table : {&p.train, &p.valid})
    for (const auto& item : table->images) {
      const int64_t record = pack->find(item.image);
      REQUIRE(record >= 0);
      CHECK(pack->name(record) == item.image);
      CHECK(pack->labels(record) == item.labels);
      const GrayImage expected = resize_rounded(decode_image(p.dir.file("images/" + item.image)), 48, 48);
      const uint8_t* pixels = pack->pixels(record);
      REQUIRE(std::equal(expected.pixels.begin(), expected.pixels.end(), pixels));
    }
  CHECK(pack->find("no-such.png") == -1);
  pack->verify();
}

TEST_CASE("pack: the same bytes for any number of threads") {
  const Packed& p = packed();
  for (int threads : {1, 3}) {
    const std::string other = p.dir.file("threads-" + std::to_string(threads) + ".rgpack");
    write_pack({p.train, p.valid}, {.image_dir = p.dir.file("images"), .out = other, .size = 48, .threads = threads});
    CHECK(read_file(other) == read_file(p.pack));
  }
}

TEST_CASE("pack: the loader gives the same batches from a pack as from the folder, augmented") {
  const Packed& p = packed();
  LoaderOptions o{.batch_size = 5, .width = 48, .height = 48, .seed = 3, .threads = 2, .augment = true};
  o.augmentation.max_rotation_deg = 10;
  o.augmentation.max_zoom = 0.1;
  DataLoader from_folder(p.train, p.dir.file("images"), o), from_pack(p.train, p.pack, o);
  for (int epoch = 0; epoch < 2; ++epoch) {
    from_folder.start_epoch(epoch);
    from_pack.start_epoch(epoch);
    Batch a, b;
    int batches = 0;
    while (from_folder.next(a)) {
      REQUIRE(from_pack.next(b));
      CHECK(a.indices == b.indices);
      REQUIRE(a.images.to_vector<float>() == b.images.to_vector<float>());
      CHECK(a.labels.to_vector<float>() == b.labels.to_vector<float>());
      ++batches;
    }
    CHECK_FALSE(from_pack.next(b));
    CHECK(batches == from_folder.batches_per_epoch());
  }
}

TEST_CASE("pack: a pack at another size, or lacking images the table names, is refused naming both") {
  const Packed& p = packed();
  const std::string train_only = p.dir.file("train-only.rgpack");
  write_pack({p.train}, {.image_dir = p.dir.file("images"), .out = train_only, .size = 48});
  CHECK_THROWS_WITH_AS(DataLoader(p.valid, train_only, {.width = 48, .height = 48}),
                       has(train_only + " lacks " + std::to_string(p.valid.size()) + " of the " +
                           std::to_string(p.valid.size()) + " images " + p.valid.source + " names"),
                       Error);
  CHECK_THROWS_WITH_AS(DataLoader(p.train, p.pack, {.width = 64, .height = 64}),
                       has(p.pack + " holds images at 48x48, not the 64x64 asked for"), Error);
  CHECK_THROWS_WITH_AS(open_image_source(p.dir.file("train.csv")), Contains("neither a folder of images nor a pack"),
                       Error);
  CHECK_THROWS_WITH_AS(open_image_source(p.dir.file("nothing-here")), Contains("no such folder or pack"), Error);
}

TEST_CASE("pack: a label file that contradicts the pack's labels for an image is refused naming both") {
  const Packed& p = packed();
  LabelTable changed = p.train;
  changed.source = "changed.csv";
  LabeledImage& first = changed.images.front();
  first.labels[0] = 1.0f - first.labels[0];
  CHECK_THROWS_WITH_AS(DataLoader(changed, p.pack, {.width = 48, .height = 48}),
                       has("changed.csv gives " + first.image + " " + changed.label_names[0]), Error);
  CHECK_THROWS_WITH_AS(DataLoader(changed, p.pack, {.width = 48, .height = 48}), has(p.pack + " was packed with"),
                       Error);
  LabelTable unlabeled = p.train;  // a list of images to score (roentgen predict): nothing to compare
  unlabeled.label_names.clear();
  for (auto& item : unlabeled.images) item.labels.clear();
  CHECK_NOTHROW(DataLoader(unlabeled, p.pack, {.width = 48, .height = 48}));
}

TEST_CASE("pack: a missing label (NaN) is packed as missing and read back as missing") {
  const Packed& p = packed();
  LabelTable with_missing = p.train;
  with_missing.images.resize(3);
  with_missing.images[1].labels[2] = kMissing;
  const std::string pack = p.dir.file("missing.rgpack");
  write_pack({with_missing}, {.image_dir = p.dir.file("images"), .out = pack, .size = 48, .threads = 1});
  const auto read = ImagePack::open(pack);
  CHECK(std::isnan(read->labels(1)[2]));
  CHECK(read->labels(1)[1] == with_missing.images[1].labels[1]);
  CHECK_NOTHROW(DataLoader(with_missing, pack, {.width = 48, .height = 48}));  // NaN agrees with NaN
}

TEST_CASE("merged datasets: names and patients prefixed, labels united with missing, images routed to each source") {
  const Packed& p = packed();
  LabelTable narrow = p.valid;  // a dataset with fewer labels, under other names
  narrow.label_names = {"Mass", "Lung Opacity"};
  for (auto& item : narrow.images) item.labels = {item.labels[9], 1.0f};
  const std::vector<DatasetSpec> specs = {{"folder", p.dir.file("train.csv"), p.dir.file("images")},
                                          {"pack", p.dir.file("valid.csv"), p.pack}};
  const std::vector<std::string> names = merged_label_names({p.train, narrow});
  REQUIRE(names.size() == 15);
  CHECK(names.back() == "Lung Opacity");  // after NIH's 14, in the label space's order
  const LabelTable merged = merge_tables(specs, {p.train, narrow}, names);
  REQUIRE(merged.size() == p.train.size() + narrow.size());
  CHECK(merged.images[0].image == "folder/" + p.train.images[0].image);
  CHECK(merged.images[0].patient_id == "folder:" + p.train.images[0].patient_id);
  CHECK(std::isnan(merged.images[0].labels[14]));  // the folder's table has no Lung Opacity
  const LabeledImage& first_packed = merged.images[p.train.size()];
  CHECK(first_packed.labels[9] == narrow.images[0].labels[0]);  // Mass
  CHECK(std::isnan(first_packed.labels[0]));                    // Atelectasis: not in the narrow table
  CHECK(first_packed.labels[14] == 1.0f);
  CHECK_THROWS_WITH_AS(parse_dataset_spec("nih.csv"), Contains("expected NAME=LABELS:IMAGES"), Error);
  CHECK(parse_dataset_spec("nih=a/train.csv:a/images").images == "a/images");

  const auto source = merged_image_source(specs, {p.train, narrow});
  const auto folder = open_image_source(p.dir.file("images")), pack = open_image_source(p.pack);
  const std::string a = p.train.images[0].image, b = p.valid.images[0].image;
  CHECK(source->load("folder/" + a, 48, 48).pixels == folder->load(a, 48, 48).pixels);
  CHECK(source->load("pack/" + b, 48, 48).pixels == pack->load(b, 48, 48).pixels);
  CHECK_NOTHROW(source->check(merged, 48, 48));  // the pack is checked on Mass only: its table's one label it has
  LabelTable contradicting = merged;
  float& mass = contradicting.images[p.train.size()].labels[9];
  mass = 1 - mass;
  CHECK_THROWS_WITH_AS(source->check(contradicting, 48, 48), Contains("was packed with"), Error);
  CHECK_THROWS_WITH_AS(source->load("other/" + a, 48, 48), Contains("not an image of the datasets"), Error);
  CHECK(source->names().size() == image_files(p.dir.file("images")).size() + pack->names().size());
}

TEST_CASE("pack: a missing image stops roentgen pack naming it, leaving no file behind") {
  const Packed& p = packed();
  LabelTable broken = p.train;
  broken.images[3].image = "missing.png";
  test::TempDir out;
  CHECK_THROWS_WITH_AS(
      write_pack({broken}, {.image_dir = p.dir.file("images"), .out = out.file("x.rgpack"), .threads = 2}),
      Contains("missing.png"), Error);
  CHECK(std::filesystem::is_empty(out.str()));
  // Two tables giving one image different labels.
  LabelTable other = p.train;
  other.images[0].labels[0] = 1 - other.images[0].labels[0];
  CHECK_THROWS_WITH_AS(write_pack({p.train, other}, {.image_dir = p.dir.file("images"), .out = out.file("y.rgpack")}),
                       has("give the image " + p.train.images[0].image + " different labels"), Error);
}

TEST_CASE("pack: a flipped byte in a record is found when the record is first read, and by verify") {
  const Packed& p = packed();
  std::string bytes = read_file(p.pack);
  const PackEntry e = entries(bytes)[2];
  bytes[e.offset + 100] ^= 0x10;
  const auto pack = ImagePack::parse(bytes, "flipped.rgpack");  // the header and index are intact
  (void)pack->pixels(1);
  const std::string name(pack->name(2));
  CHECK_THROWS_WITH_AS(pack->pixels(2), has("flipped.rgpack: record 2 (" + name + ") is corrupt"), Error);
  CHECK_THROWS_WITH_AS(pack->verify(), has("record 2 (" + name + ") is corrupt"), Error);
  // Through the loader: the batch holding it fails, naming the pack and the record.
  write_file_atomic(p.dir.file("flipped.rgpack"), bytes);
  DataLoader loader(p.train, p.dir.file("flipped.rgpack"), {.batch_size = 64, .width = 48, .height = 48, .threads = 1});
  loader.start_epoch(0);
  Batch batch;
  REQUIRE(std::any_of(p.train.images.begin(), p.train.images.end(), [&](auto& i) { return i.image == name; }));
  CHECK_THROWS_WITH_AS(loader.next(batch), Contains("flipped.rgpack: record 2"), Error);
}

TEST_CASE("pack: truncated, wrong magic or version, a corrupt header or index, an entry outside, a name twice") {
  const Packed& p = packed();
  const std::string good = read_file(p.pack);
  const PackHeader h = header_of(good);
  // Truncated: a mapped file read past its end raises SIGBUS, so the size is checked first.
  test::TempDir dir;
  write_file_atomic(dir.file("cut.rgpack"), good.substr(0, good.size() - 1000));
  CHECK_THROWS_WITH_AS(ImagePack::open(dir.file("cut.rgpack")),
                       has("truncated or extended pack: the header says " + std::to_string(good.size())), Error);
  write_file_atomic(dir.file("tiny.rgpack"), good.substr(0, 50));
  CHECK_THROWS_WITH_AS(ImagePack::open(dir.file("tiny.rgpack")), Contains("less than its header"), Error);
  check_refused(good.substr(0, 50), "less than its header");
  check_refused(good.substr(0, good.size() - 1), "truncated or extended pack");

  std::string magic = good;
  magic[0] = 'X';
  check_refused(magic, "not a roentgen pack");
  std::string version = good;
  reinterpret_cast<PackHeader*>(version.data())->version = 9;
  check_refused(resealed(version), "pack format version 9; this roentgen reads version 1");
  std::string header = good;
  reinterpret_cast<PackHeader*>(header.data())->width = 47;  // the header's CRC no longer matches
  check_refused(header, "the header's CRC does not match");
  std::string index = good;
  index[h.index_offset + 5] ^= 1;
  check_refused(index, "the CRC of the index, names and labels does not match");

  std::string outside = good;
  entries(outside)[4].offset = h.file_size + 4096;
  check_refused(resealed(outside),
                "record 4's offset " + std::to_string(h.file_size + 4096) + " is outside the records");
  std::string unaligned = good;
  entries(unaligned)[4].offset += 1;
  check_refused(resealed(unaligned), "record 4's offset");
  std::string name_outside = good;
  entries(name_outside)[1].name_size = 1u << 30;
  check_refused(resealed(name_outside), "record 1's name");
  std::string twice = good;
  entries(twice)[3].name_offset = entries(twice)[0].name_offset;
  entries(twice)[3].name_size = entries(twice)[0].name_size;
  check_refused(resealed(twice), "is in records 0 and 3");
  std::string overflow = good;
  reinterpret_cast<PackHeader*>(overflow.data())->record_count = uint64_t(1) << 62;
  check_refused(resealed(overflow), "is not after");
}
