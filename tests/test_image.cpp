// Image decoding (every pixel layout, bad files), resizing, and the loader's augmentation and
// normalization.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <fstream>

#include "data/augment.h"
#include "data/dicom.h"
#include "data/dicom_file.h"
#include "tensor/io.h"
#include "data/image.h"
#include "data/image_checks.h"
#include "data/labels.h"
#include "data/synthetic.h"
#include "data/normalize.h"
#include "data_helpers.h"
#include "tensor/error.h"

using namespace rg;
using namespace rg::data;
using doctest::Contains;

namespace {

// A PNG written by hand, chunk by chunk (stb_image_write only writes 8-bit, and never a broken
// file): signature, IHDR, IDAT (`raw` rows, each with its filter byte, zlib-compressed), IEND.
std::string png_chunk(const std::string& type, const std::string& data) {
  auto be32 = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  const std::string body = type + data;
  return be32(uint32_t(data.size())) + body +
         be32(uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}
std::string png_file(uint32_t width, uint32_t height, int bit_depth, const std::string& raw, bool with_idat = true) {
  auto be32 = [](uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; };
  uLongf size = compressBound(uLong(raw.size()));
  std::string packed(size, '\0');
  compress(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
           uLong(raw.size()));
  packed.resize(size);
  const std::string ihdr = be32(width) + be32(height) + std::string{char(bit_depth), 0, 0, 0, 0};
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) + png_chunk("IDAT", with_idat ? packed : "") +
         png_chunk("IEND", "");
}

GrayImage ramp(int w, int h) {
  GrayImage g(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) g.at(x, y) = float((x * 7 + y * 13) % 256);
  return g;
}

}  // namespace

TEST_CASE("every pixel layout decodes to one gray channel") {
  test::TempDir dir;
  // 8-bit: gray, gray+alpha, RGB, RGBA — a 2x1 image each.
  write_file_atomic(dir.file("gray.png"), encode_png({10, 200}, 2, 1, 1));
  write_file_atomic(dir.file("gray_alpha.png"), encode_png({10, 255, 200, 0}, 2, 1, 2));
  write_file_atomic(dir.file("rgb.png"), encode_png({255, 0, 0, 10, 20, 30}, 2, 1, 3));
  write_file_atomic(dir.file("rgba.png"), encode_png({0, 255, 0, 128, 0, 0, 255, 255}, 2, 1, 4));
  write_file_atomic(dir.file("gray16.png"), encode_png16({65535, 257 * 100, 0, 1000}, 2, 2));

  CHECK(decode_image(dir.file("gray.png")).pixels == std::vector<float>{10, 200});
  CHECK(decode_image(dir.file("gray_alpha.png")).pixels == std::vector<float>{10, 200});
  const GrayImage rgb = decode_image(dir.file("rgb.png"));
  CHECK(rgb.pixels[0] == doctest::Approx(0.299 * 255));
  CHECK(rgb.pixels[1] == doctest::Approx(0.299 * 10 + 0.587 * 20 + 0.114 * 30));
  const GrayImage rgba = decode_image(dir.file("rgba.png"));
  CHECK(rgba.pixels[0] == doctest::Approx(0.587 * 255));
  CHECK(rgba.pixels[1] == doctest::Approx(0.114 * 255));
  const GrayImage g16 = decode_image(dir.file("gray16.png"));
  CHECK(g16.width == 2);
  CHECK(g16.height == 2);
  CHECK(g16.pixels[0] == doctest::Approx(255));
  CHECK(g16.pixels[1] == doctest::Approx(100));
  CHECK(g16.pixels[3] == doctest::Approx(1000.0 / 257));

  // JPEG is lossy: close, not equal.
  const GrayImage original = ramp(64, 48);
  write_file_atomic(dir.file("ramp.jpg"), encode_jpeg(original, 95));
  const GrayImage jpeg = decode_image(dir.file("ramp.jpg"));
  REQUIRE(jpeg.width == 64);
  double err = 0;
  for (size_t i = 0; i < jpeg.pixels.size(); ++i) err += std::abs(jpeg.pixels[i] - original.pixels[i]);
  CHECK(err / double(jpeg.pixels.size()) < 6.0);
}

TEST_CASE("missing, empty, foreign, truncated and corrupt images are errors naming the file") {
  test::TempDir dir;
  const std::string png = encode_png(std::vector<uint8_t>(64 * 64, 100), 64, 64, 1);
  const std::string jpg = encode_jpeg(ramp(64, 64));
  write_file_atomic(dir.file("empty.png"), "");
  write_file_atomic(dir.file("text.png"), "this is not an image");
  write_file_atomic(dir.file("cut.png"), png.substr(0, png.size() / 2));
  write_file_atomic(dir.file("cut.jpg"), jpg.substr(0, jpg.size() * 2 / 3));
  std::string broken = png;
  for (size_t i = 40; i < 60 && i < broken.size() - 12; ++i) broken[i] = char(0xFF);  // inside the IDAT stream
  write_file_atomic(dir.file("corrupt.png"), broken);

  CHECK_THROWS_WITH_AS(decode_image(dir.file("missing.png")), Contains("missing.png: cannot open"), Error);
  CHECK_THROWS_WITH_AS(decode_image(dir.file("empty.png")), Contains("empty.png: empty file"), Error);
  CHECK_THROWS_WITH_AS(decode_image(dir.file("text.png")), Contains("text.png: not a PNG, JPEG or DICOM file"), Error);
  CHECK_THROWS_WITH_AS(decode_image(dir.file("cut.png")), Contains("cut.png: truncated PNG"), Error);
  CHECK_THROWS_WITH_AS(decode_image(dir.file("cut.jpg")), Contains("cut.jpg: corrupt JPEG"), Error);
  CHECK_THROWS_WITH_AS(decode_image(dir.file("corrupt.png")), Contains("corrupt.png: corrupt PNG"), Error);
}

TEST_CASE("an image whose header declares more pixels than the limit is refused before decoding") {
  // 30000x30000 declared, one tiny IDAT: refused from the header alone.
  const std::string bomb = png_file(30000, 30000, 8, std::string(100, '\0'));
  CHECK_THROWS_WITH_AS(
      decode_image_bytes(bomb, "bomb.png"),
      Contains("bomb.png: the header declares 30000x30000 = 900000000 pixels, more than the limit of 268435456"),
      Error);
  const std::string jpeg = encode_jpeg(ramp(64, 48));
  const uint64_t saved = image_limits().max_pixels;
  image_limits().max_pixels = 64 * 48 - 1;
  CHECK_THROWS_WITH_AS(decode_image_bytes(jpeg, "big.jpg"), Contains("big.jpg: the header declares 64x48"), Error);
  image_limits().max_pixels = 64 * 48;
  CHECK(decode_image_bytes(jpeg, "big.jpg").width == 64);
  image_limits().max_pixels = saved;
}

TEST_CASE("DICOM: each layout the synthetic generator writes decodes to the gray levels it stores") {
  GrayImage image(7, 5);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float((i * 37) % 256) + 0.3f;
  for (const DicomLayout layout : kDicomLayouts) {
    const std::string bytes = encode_dicom(image, layout, "P7", 42);
    REQUIRE(looks_like_image(bytes.substr(0, kSignatureBytes)));
    const GrayImage back = decode_image_bytes(bytes, "layout.dcm");
    REQUIRE(back.width == 7);
    REQUIRE(back.height == 5);
    for (size_t i = 0; i < image.pixels.size(); ++i) CHECK(back.pixels[i] == std::round(image.pixels[i]));
  }
}

namespace {
std::string le16(uint16_t v) { return {char(v & 0xFF), char(v >> 8)}; }
std::string le32(uint32_t v) { return le16(uint16_t(v)) + le16(uint16_t(v >> 16)); }
// A DICOM whose data set is `body`, bytes as given, after a file meta information naming only the
// transfer syntax: for structures no writer would produce.
std::string dicom_with_body(const std::string& body, std::string syntax = "1.2.840.10008.1.2.1") {
  if (syntax.size() % 2 == 1) syntax += '\0';
  return std::string(128, '\0') + "DICM" + le16(0x0002) + le16(0x0010) + "UI" + le16(uint16_t(syntax.size())) + syntax +
         body;
}
}  // namespace

TEST_CASE("DICOM: every compression of the fuzz corpus' seed decodes to the uncompressed file's pixels") {
  // tools/make_fuzz_corpus.py wrote them with gdcmconv: RLE, JPEG lossless, JPEG-LS and JPEG 2000
  // (this one through the roentgen-decode-j2k process, data/jpeg2000_process.h).
  const std::string corpus = std::string(ROENTGEN_SOURCE_DIR) + "/tests/fuzz/corpus/dicom/";
  const GrayImage raw = decode_image(corpus + "u16_window.dcm");
  for (const char* compressed :
       {"u16_window_rle.dcm", "u16_window_jpeg.dcm", "u16_window_jpegls.dcm", "u16_window_j2k.dcm"}) {
    CAPTURE(compressed);
    CHECK(decode_image(corpus + compressed).pixels == raw.pixels);
  }
}

TEST_CASE("DICOM: malformed data sets are errors naming the file and the byte, never a crash") {
  const std::string item = le16(0xFFFE) + le16(0xE000), undefined = le32(0xFFFFFFFF);
  // Sequences nested deeper than the parser allows, each of undefined length.
  std::string nested;
  for (int i = 0; i <= kMaxDepth; ++i)
    nested += le16(0x0040) + le16(0xA730) + "SQ" + le16(0) + undefined + item + undefined;
  CHECK_THROWS_WITH_AS(parse_dicom(dicom_with_body(nested), "deep.dcm"),
                       Contains("deep.dcm: corrupt DICOM: sequences nested deeper"), Error);
  CHECK_THROWS_WITH_AS(parse_dicom(dicom_with_body(item + le32(4) + "abcd"), "item.dcm"),
                       Contains("item.dcm: corrupt DICOM: the item tag (FFFE,E000) at byte"), Error);
  const std::string rows = le16(0x0028) + le16(0x0010) + "US" + le16(2) + le16(64);
  CHECK_THROWS_WITH_AS(parse_dicom(dicom_with_body(rows.substr(0, 9)), "cut.dcm"), Contains("cut.dcm: truncated DICOM"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_dicom(dicom_with_body(le16(0x0028) + le16(0x0010) + "US" + le16(200) + "ab"), "long.dcm"),
                       Contains("long.dcm: truncated DICOM: (0028,0010) at byte"), Error);
  CHECK_THROWS_WITH_AS(parse_dicom(dicom_with_body(le16(0x0028) + le16(0x0010) + "u!" + le16(2) + "ab"), "vr.dcm"),
                       Contains("vr.dcm: corrupt DICOM: (0028,0010)"), Error);
  CHECK_THROWS_WITH_AS(parse_dicom(dicom_with_body(rows, "1.2.840.10008.1.2.1.99"), "deflate.dcm"),
                       Contains("deflate.dcm: Deflated Explicit VR Little Endian is not supported"), Error);
  // The same element in Implicit VR (no VR; a 4-byte length) parses, and so does an empty data set.
  const std::string implicit_bytes =
      dicom_with_body(le16(0x0028) + le16(0x0010) + le32(2) + le16(64), "1.2.840.10008.1.2");
  const DicomFile implicit = parse_dicom(implicit_bytes, "i.dcm");  // its values view the bytes
  CHECK(implicit.word(implicit.set, {0x0028, 0x0010, "Rows"}, false) == 64);
  CHECK(parse_dicom(dicom_with_body(""), "empty.dcm").set.elements.empty());
  CHECK_THROWS_WITH_AS(decode_image_bytes(dicom_with_body(rows), "nopixels.dcm"),
                       Contains("nopixels.dcm: no (7FE0,0010) Pixel Data"), Error);
}

TEST_CASE("inputs that crashed or misled stb_image are clean errors") {
  // A huffman table header without its counts (stb 2.27 wrote out of bounds on it).
  const std::string huffman("\xFF\xD8\xFF\xC4\x01\xA2\x00\xFF\xD9", 9);
  CHECK_THROWS_WITH_AS(decode_image_bytes(huffman, "huffman.jpg"), Contains("huffman.jpg: corrupt JPEG"), Error);
  // A JPEG's error names JPEG, never a PNG message left over from an earlier file.
  try {
    decode_image_bytes(huffman, "huffman.jpg");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("png") == std::string::npos);
  }
  // An empty IDAT chunk (stb 2.27 called memcpy with a null pointer on it).
  const std::string empty_idat = png_file(2, 2, 8, "", false);
  CHECK_THROWS_WITH_AS(decode_image_bytes(empty_idat, "empty_idat.png"), Contains("empty_idat.png: "), Error);
  // Bytes after IEND are not a truncation: the image decodes.
  const std::string png = encode_png({10, 200}, 2, 1, 1);
  CHECK(decode_image_bytes(png + "trailing bytes", "trailing.png").pixels == std::vector<float>{10, 200});
  // A wrong CRC in the image data is an error.
  std::string bad_crc = encode_png16({1, 2, 3, 4}, 2, 2);
  bad_crc[bad_crc.size() - 13] ^= 1;  // the IDAT's CRC, just before IEND
  CHECK_THROWS_WITH_AS(decode_image_bytes(bad_crc, "crc.png"), Contains("crc.png: corrupt PNG"), Error);
}

TEST_CASE("resize: area averaging when shrinking, bilinear with half-pixel centres when enlarging") {
  // Shrinking 4x4 -> 2x2 averages 2x2 blocks.
  GrayImage g(4, 4);
  for (int i = 0; i < 16; ++i) g.pixels[i] = float(i);
  CHECK(resize(g, 2, 2).pixels == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  // Enlarging [0, 4] to 4 wide: OpenCV's INTER_LINEAR gives [0, 1, 3, 4].
  GrayImage row(2, 1);
  row.pixels = {0, 4};
  CHECK(resize(row, 4, 1).pixels == std::vector<float>{0, 1, 3, 4});
  // 3 -> 2 (fractional area): [0, 3, 6] -> [(0 + 3/2) / 1.5, (3/2 + 6) / 1.5] = [1, 5].
  GrayImage three(3, 1);
  three.pixels = {0, 3, 6};
  const auto two = resize(three, 2, 1).pixels;
  CHECK(two[0] == doctest::Approx(1.0));
  CHECK(two[1] == doctest::Approx(5.0));
  // Constants stay constant, and area shrinking keeps the mean, at the real 512 -> 320.
  const GrayImage flat = resize(GrayImage(512, 512, 77.0f), 320, 320);
  for (float v : flat.pixels) REQUIRE(v == doctest::Approx(77.0f));
  const GrayImage src = ramp(512, 512), small = resize(src, 320, 320);
  double a = 0, b = 0;
  for (float v : src.pixels) a += v;
  for (float v : small.pixels) b += v;
  CHECK(b / double(small.pixels.size()) == doctest::Approx(a / double(src.pixels.size())).epsilon(1e-4));
  // Mixed: shrink one axis, enlarge the other.
  const GrayImage mixed = resize(src, 100, 600);
  CHECK(mixed.width == 100);
  CHECK(mixed.height == 600);
}

TEST_CASE("resize_rounded: the resized image rounded to whole gray levels 0..255, half away from zero") {
  GrayImage g(4, 4);
  for (int i = 0; i < 16; ++i) g.pixels[i] = float(i);
  CHECK(resize_rounded(g, 2, 2).pixels == std::vector<float>{3, 5, 11, 13});  // 2.5 4.5 10.5 12.5
  GrayImage wide(2, 1);
  wide.pixels = {-3.0f, 300.0f};  // clamped
  CHECK(resize_rounded(wide, 2, 1).pixels == std::vector<float>{0, 255});
  GrayImage sixteen(1, 1);
  sixteen.pixels = {1000.0f / 257.0f};  // a 16-bit file's 1000: 3.89 -> 4
  CHECK(resize_rounded(sixteen, 1, 1).pixels == std::vector<float>{4});
}

TEST_CASE("normalization: sample, dataset and imagenet; 3 channels; saved and restored as JSON") {
  const GrayImage image = ramp(32, 16);
  const size_t plane = image.pixels.size();
  std::vector<float> out(3 * plane);

  Normalization::sample().apply(image, out.data());
  double mean = 0, sq = 0;
  for (size_t i = 0; i < plane; ++i) mean += out[i];
  mean /= double(plane);
  for (size_t i = 0; i < plane; ++i) sq += (out[i] - mean) * (out[i] - mean);
  CHECK(mean == doctest::Approx(0.0).epsilon(1e-5));
  CHECK(std::sqrt(sq / double(plane)) == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(std::equal(out.begin(), out.begin() + plane, out.begin() + plane));
  CHECK(std::equal(out.begin(), out.begin() + plane, out.begin() + 2 * plane));

  Normalization::dataset(100.0, 50.0).apply(image, out.data());
  CHECK(out[5] == doctest::Approx((image.pixels[5] - 100.0) / (50.0 + 1e-6)));
  CHECK(out[2 * plane + 5] == out[5]);

  Normalization::imagenet().apply(image, out.data());
  for (int c = 0; c < 3; ++c)
    CHECK(out[c * plane + 7] == doctest::Approx((image.pixels[7] / 255.0 - kImageNetMean[c]) / kImageNetStd[c]));

  Normalization measured = Normalization::dataset(123.5, 45.25);
  measured.sample_size = 100;
  measured.sample_seed = 9;
  const Normalization back = Normalization::from_json(measured.to_json());
  CHECK(back.kind == Normalization::Kind::Dataset);
  CHECK(back.mean == 123.5);
  CHECK(back.std == 45.25);
  CHECK(back.sample_size == 100);
  CHECK(Normalization::from_json(Normalization::imagenet().to_json()).kind == Normalization::Kind::ImageNet);
  CHECK_THROWS_WITH_AS(Normalization::from_json("{\"kind\":\"zscore\"}"), Contains("unknown kind 'zscore'"), Error);
  CHECK_THROWS_WITH_AS(Normalization::from_json("{\"kind\":\"dataset\"}"),
                       Contains("needs numeric \"mean\" and \"std\""), Error);
  CHECK_THROWS_WITH_AS(Normalization::from_json("not json"), Contains("not valid JSON"), Error);
}

TEST_CASE("augmentation: flips are mirror images, seeded, and both outcomes happen") {
  const GrayImage image = ramp(8, 4);
  const GrayImage flipped = flip_horizontal(image);
  CHECK(flipped.at(0, 1) == image.at(7, 1));
  CHECK(flip_horizontal(flipped).pixels == image.pixels);

  int flips = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Generator a(seed), b(seed);
    const GrayImage x = augment(image, {}, a), y = augment(image, {}, b);
    CHECK(x.pixels == y.pixels);  // same seed, same result
    const bool is_flip = x.pixels == flipped.pixels;
    CHECK((is_flip || x.pixels == image.pixels));
    flips += is_flip;
  }
  CHECK(flips > 5);
  CHECK(flips < 35);
}

TEST_CASE("augmentation: affine and brightness/contrast stay small and keep the image size") {
  const GrayImage image = ramp(64, 64);
  AugmentOptions options{.horizontal_flip = false,
                         .max_rotation_deg = 10,
                         .max_translation = 0.05,
                         .max_zoom = 0.1,
                         .max_brightness = 0.1,
                         .max_contrast = 0.1};
  Generator gen(1);
  const GrayImage out = augment(image, options, gen);
  CHECK(out.width == 64);
  CHECK(out.height == 64);
  CHECK(out.pixels != image.pixels);
  for (float v : out.pixels) REQUIRE((v >= 0 && v <= 255));
  // With everything off, nothing changes.
  Generator gen2(1);
  CHECK(augment(image, {.horizontal_flip = false}, gen2).pixels == image.pixels);
  // A pure brightness change moves the mean by at most 0.1 * 255.
  Generator gen3(2);
  const GrayImage bright = augment(GrayImage(16, 16, 100.0f), {.horizontal_flip = false, .max_brightness = 0.1}, gen3);
  CHECK(std::abs(bright.pixels[0] - 100.0f) <= 25.5f);
  CHECK(bright.pixels[0] != 100.0f);
}

TEST_CASE("input checks: a synthetic film passes; inverted, flat and low-contrast ones are named once, counted") {
  test::TempDir dir;
  write_synthetic_dataset(dir.str(), {.patients = 3, .size = 64, .seed = 4});
  const std::string name = read_labels(dir.file("labels.csv")).images[0].image;
  const GrayImage film = decode_image(dir.file("images/" + name));
  const IntensityProfile nih;  // none recorded: the NIH sample's medians
  const StoredSize own{64, 64}, tiny{20, 64}, unknown{};
  CHECK(image_stats(film).lung_contrast < 0);  // dark lungs, bright mediastinum
  CHECK(input_issues(film, own, nih).empty());
  CHECK(input_issues(film, unknown, nih).empty());
  GrayImage inverted = film, flat(64, 64, 120.0f), washed = film;
  for (float& v : inverted.pixels) v = 255 - v;
  for (float& v : washed.pixels) v = std::round(100 + v / 6);  // a sixth of the range
  CHECK(input_issues(inverted, own, nih) == std::vector<InputIssue>{InputIssue::kInverted});
  CHECK(input_issues(flat, own, nih) ==
        std::vector<InputIssue>{InputIssue::kFlat, InputIssue::kLowContrast});  // uniform: no range either
  CHECK(input_issues(washed, own, nih) == std::vector<InputIssue>{InputIssue::kLowContrast});
  CHECK(input_issues(film, tiny, nih) == std::vector<InputIssue>{InputIssue::kSmall});  // 20 wide for 64

  InputChecks checks(IntensityProfile::of({image_stats(film)}));
  for (const auto& [image, pixels] : std::vector<std::pair<std::string, GrayImage>>{
           {"b.png", inverted}, {"a.png", inverted}, {"ok.png", film}, {"f.png", flat}})
    checks.add(image, pixels, own);
  const std::vector<std::string> lines = checks.warnings();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("2 of 4 images look inverted") == 0);
  CHECK(lines[0].find("(the first: a.png)") != std::string::npos);
  CHECK(lines[1].find("1 of 4 images are nearly uniform") == 0);
  CHECK(InputChecks(nih).warnings().empty());

  const IntensityProfile back = IntensityProfile::from_json(IntensityProfile::of({image_stats(film)}).to_json(), "m");
  CHECK(back.images == 1);
  CHECK(back.lung_contrast == image_stats(film).lung_contrast);
  CHECK_THROWS_WITH_AS(IntensityProfile::from_json("{\"images\": 0, \"lung_contrast\": 1, \"range\": 9}", "m"),
                       Contains("m: metadata intensity_profile"), Error);
}
