// CSV parsing and the two label formats, on hand-made files and on the real NIH label files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "data/csv.h"
#include "data/datasets.h"
#include "tensor/io.h"
#include "data/labels.h"
#include "data_helpers.h"
#include "tensor/error.h"

using namespace rg;
using namespace rg::data;
using doctest::Contains;

namespace {

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Image `image`'s label `name` (an error when the table has no such label).
float label_of(const LabelTable& table, size_t image, const std::string& name) {
  const auto at = std::find(table.label_names.begin(), table.label_names.end(), name);
  REQUIRE(at != table.label_names.end());
  return table.images.at(image).labels.at(size_t(at - table.label_names.begin()));
}

void write_gzip(const std::string& path, const std::string& text) { write_file_atomic(path, gzip(text)); }

const std::string kNotebookCsv =
    "Image,Atelectasis,Cardiomegaly,PatientId\n"
    "a_000.png,1,0,8270\n"
    "b_000.png,0,1,29855\n"
    "b_001.png,1,1,29855\n";

}  // namespace

TEST_CASE("CSV: quotes, escaped quotes, embedded commas and newlines, CRLF and a BOM") {
  const CsvTable t = parse_csv(
      "\xEF\xBB\xBF"
      "a,\"b,c\",d\r\n1,\"say \"\"hi\"\"\",\"two\nlines\"\r\n\r\n2,,x\r\n",
      "mem.csv");
  CHECK(t.header == std::vector<std::string>{"a", "b,c", "d"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0].fields == std::vector<std::string>{"1", "say \"hi\"", "two\nlines"});
  CHECK(t.rows[0].line == 2);
  CHECK(t.rows[1].fields == std::vector<std::string>{"2", "", "x"});
  CHECK(t.rows[1].line == 5);
  // What csv_line writes, parse_csv reads back.
  const std::vector<std::string> tricky{"plain", "com,ma", "quo\"te", "new\nline"};
  CHECK(parse_csv(csv_line({"h1", "h2", "h3", "h4"}) + csv_line(tricky), "x").rows[0].fields == tricky);
}

TEST_CASE("CSV errors name the file and the line") {
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n3\n", "f.csv"),
                       Contains("f.csv:3: expected 2 columns as in the header, found 1"), Error);
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,\"open\n", "f.csv"), Contains("f.csv:2: unterminated quoted field"), Error);
  CHECK_THROWS_WITH_AS(parse_csv("", "f.csv"), Contains("f.csv: empty file"), Error);
  CHECK_THROWS_WITH_AS(read_csv("/nonexistent/labels.csv"), Contains("/nonexistent/labels.csv: cannot open"), Error);
}

TEST_CASE("the notebook's format: label columns are the ones that are not Image or PatientId") {
  test::TempDir dir;
  write_text(dir.file("train.csv"), kNotebookCsv);
  const LabelTable t = read_labels(dir.file("train.csv"));
  CHECK(t.label_names == std::vector<std::string>{"Atelectasis", "Cardiomegaly"});
  REQUIRE(t.size() == 3);
  CHECK(t.images[1].image == "b_000.png");
  CHECK(t.images[1].patient_id == "29855");
  CHECK(t.images[2].labels == std::vector<float>{1, 1});
  CHECK(t.positives() == std::vector<int64_t>{2, 2});
  CHECK(t.label_matrix().to_vector<float>() == std::vector<float>{1, 0, 0, 1, 1, 1});

  // Round trip through write_labels, and the same file gzip-compressed.
  write_labels(dir.file("copy.csv"), t);
  CHECK(read_labels(dir.file("copy.csv")).images[2].labels == t.images[2].labels);
  write_gzip(dir.file("train.csv.gz"), kNotebookCsv);
  CHECK(read_labels(dir.file("train.csv.gz")).size() == 3);
}

TEST_CASE("malformed label rows are errors naming file, line and column") {
  test::TempDir dir;
  write_text(dir.file("bad_label.csv"), "Image,Mass,PatientId\nx.png,0,1\ny.png,2,2\n");
  CHECK_THROWS_WITH_AS(
      read_labels(dir.file("bad_label.csv")),
      Contains("bad_label.csv:3:2: column 'Mass': expected a label 0, 1 or empty (missing), found '2'"), Error);
  write_text(dir.file("no_patient.csv"), "Image,Mass,PatientId\nx.png,0,\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("no_patient.csv")),
                       Contains("no_patient.csv:2:3: column 'PatientId': missing patient id"), Error);
  write_text(dir.file("short.csv"), "Image,Mass,PatientId\nx.png,0\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("short.csv")),
                       Contains("short.csv:2: expected 3 columns as in the header, found 2"), Error);
  write_text(dir.file("other.csv"), "name,value\na,1\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("other.csv")), Contains("other.csv: unrecognized label file"), Error);
  write_text(dir.file("nih.csv"), "Image Index,Finding Labels,Patient ID\nx.png,Mass|Flu,3\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("nih.csv")),
                       Contains("nih.csv:2:2: column 'Finding Labels': unknown finding 'Flu'"), Error);
  // An image listed twice.
  write_text(dir.file("twice.csv"), "Image,Mass,PatientId\nx.png,0,1\ny.png,1,2\nx.png,1,1\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("twice.csv")),
                       Contains("twice.csv:4:1: column 'Image': image x.png appears again (first on line 2)"), Error);
  write_text(dir.file("nih_twice.csv"), "Image Index,Finding Labels,Patient ID\nx.png,Mass,3\nx.png,No Finding,3\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("nih_twice.csv")),
                       Contains("nih_twice.csv:3:1: column 'Image Index': image x.png appears again"), Error);
  // A gzip file cut short.
  std::string big;
  for (int i = 0; i < 20000; ++i) big.append(csv_line({std::to_string(i) + ".png", "0", std::to_string(i)}));
  write_gzip(dir.file("full.csv.gz"), "Image,Mass,PatientId\n" + big);
  std::ifstream in(dir.file("full.csv.gz"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_text(dir.file("cut.csv.gz"), bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_WITH_AS(read_labels(dir.file("cut.csv.gz")), Contains("cut.csv.gz: truncated or corrupt gzip data"),
                       Error);
  // Several gzip members read as one text (as `cat a.gz b.gz`); anything else after the data is an
  // error; a decompressed size over the limit (a gzip bomb) is an error before it fills the memory.
  write_gzip(dir.file("a.gz"), "Image,Mass,PatientId\n");
  write_gzip(dir.file("b.gz"), "x.png,1,7\n");
  const std::string a = read_file(dir.file("a.gz")), b = read_file(dir.file("b.gz"));
  CHECK(gunzip(a + b, "ab.gz") == "Image,Mass,PatientId\nx.png,1,7\n");
  CHECK_THROWS_WITH_AS(gunzip(a + "junk", "junk.gz"), Contains("junk.gz: 4 bytes after the end of the gzip data"),
                       Error);
  CHECK_THROWS_WITH_AS(gunzip(bytes, "bomb.gz", 1000), Contains("bomb.gz: more than 1000 bytes once decompressed"),
                       Error);
  CHECK(gunzip("plain text", "plain.csv") == "plain text");
}

TEST_CASE("the notebook's format: an empty label is missing, and written back empty") {
  test::TempDir dir;
  write_text(dir.file("m.csv"), "Image,Mass,Hernia,PatientId\nx.png,,1,7\ny.png,0,,8\n");
  const LabelTable t = read_labels(dir.file("m.csv"));
  CHECK(std::isnan(t.images[0].labels[0]));
  CHECK(t.images[0].labels[1] == 1.0f);
  CHECK(std::isnan(t.images[1].labels[1]));
  CHECK(t.positives() == std::vector<int64_t>{0, 1});
  write_labels(dir.file("back.csv"), t);
  CHECK(read_file(dir.file("back.csv")) == "Image,Mass,Hernia,PatientId\nx.png,,1,7\ny.png,0,,8\n");
}

// CheXpert v1.0's train.csv as released (columns and value conventions), a few rows.
const std::string kCheXpertCsv =
    "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,"
    "Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,"
    "Support Devices\n"
    "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,,,,,,,0.0,,,,1.0\n"
    "CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg,Female,87,Frontal,AP,,,-1.0,1.0,,-1.0,-1.0,,-1.0,,"
    "-1.0,,1.0,\n"
    "CheXpert-v1.0-small/train/patient00002/study1/view2_lateral.jpg,Female,83,Lateral,,,,,1.0,,,-1.0,,,,,,1.0,\n";

TEST_CASE("CheXpert: its observations on the label space; blank is missing; -1 as --uncertain says; No Finding") {
  const CsvTable csv = parse_csv(kCheXpertCsv, "train.csv");
  const LabelTable t = read_chexpert(csv, Uncertain::kIgnore);
  CHECK(t.label_names == std::vector<std::string>{"Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion",
                                                  "Pneumonia", "Pneumothorax", "Enlarged Cardiomediastinum",
                                                  "Lung Lesion", "Lung Opacity", "Fracture"});
  REQUIRE(t.size() == 3);
  CHECK(t.images[0].image == "train/patient00001/study1/view1_frontal.jpg");
  CHECK(t.images[0].patient_id == "patient00001");
  CHECK(t.images[2].patient_id == "patient00002");
  for (float v : t.images[0].labels) CHECK(v == 0.0f);  // No Finding: every mapped observation 0
  const auto label = [&](size_t image, const std::string& name) { return label_of(t, image, name); };
  CHECK(std::isnan(label(1, "Cardiomegaly")));  // uncertain, ignored
  CHECK(label(1, "Lung Opacity") == 1.0f);
  CHECK(std::isnan(label(1, "Effusion")));  // Pleural Effusion, uncertain
  CHECK(label(1, "Fracture") == 1.0f);
  CHECK(std::isnan(label(1, "Pneumonia")));  // blank: not mentioned
  const LabelTable ones = read_chexpert(csv, Uncertain::kOnes), zeros = read_chexpert(csv, Uncertain::kZeros);
  CHECK(ones.images[1].labels[1] == 1.0f);      // Cardiomegaly -1 -> 1
  CHECK(zeros.images[1].labels[1] == 0.0f);     // -> 0
  CHECK(std::isnan(ones.images[1].labels[5]));  // Pneumonia blank stays missing

  // Told by its header through read_labels, with the process's --uncertain.
  test::TempDir dir;
  write_text(dir.file("train.csv"), kCheXpertCsv);
  label_options().uncertain = Uncertain::kOnes;
  CHECK(read_labels(dir.file("train.csv")).images[1].labels[1] == 1.0f);
  label_options().uncertain = Uncertain::kIgnore;
  write_text(dir.file("bad.csv"),
             "Path,Frontal/Lateral,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,"
             "Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,"
             "Fracture\nCheXpert-v1.0-small/train/patient1/s/v.jpg,Frontal,,,2.0,,,,,,,,,\n");
  CHECK_THROWS_WITH_AS(
      read_labels(dir.file("bad.csv")),
      Contains("bad.csv:2:5: column 'Cardiomegaly': expected 1.0, 0.0, -1.0 (uncertain) or blank, found '2.0'"), Error);
}

// VinDr-CXR's columns as released: image_id, rad_id, 22 local then 6 global findings.
const std::string kVinDrHeader =
    "image_id,rad_id,Aortic enlargement,Atelectasis,Calcification,Cardiomegaly,Clavicle fracture,Consolidation,Edema,"
    "Emphysema,Enlarged PA,ILD,Infiltration,Lung Opacity,Lung cavity,Lung cyst,Mediastinal shift,Nodule/Mass,"
    "Pleural effusion,Pleural thickening,Pneumothorax,Pulmonary fibrosis,Rib fracture,Other lesion,COPD,Lung tumor,"
    "Pneumonia,Tuberculosis,Other disease,No finding\n";
// A row: `ones` lists the columns (2 = Aortic enlargement, ...) that are 1.
std::string vindr_row(const std::string& id, const std::string& rad, std::vector<int> ones) {
  std::string row = id + "," + rad;
  for (int c = 2; c < 30; ++c) row += std::find(ones.begin(), ones.end(), c) != ones.end() ? ",1" : ",0";
  return row + "\n";
}

TEST_CASE("VinDr-CXR: the radiologists' majority per finding; fractures as one; the test set's consensus") {
  // Image a: Cardiomegaly (column 5) by 2 of 3, Atelectasis (3) by 1 of 3, a rib (22) and a
  // clavicle (6) fracture by different readers, Pleural effusion (18) by all.
  const std::string train = kVinDrHeader + vindr_row("a", "R8", {5, 3, 22, 18}) + vindr_row("b", "R9", {29}) +
                            vindr_row("a", "R9", {5, 6, 18}) + vindr_row("a", "R10", {18}) +
                            vindr_row("b", "R8", {29}) + vindr_row("b", "R10", {17, 29});
  const LabelTable t = read_vindr(parse_csv(train, "image_labels_train.csv"));
  REQUIRE(t.size() == 2);
  CHECK(t.images[0].image == "a.dicom");
  CHECK(t.images[0].patient_id == "a");
  const auto label = [&](size_t image, const std::string& name) { return label_of(t, image, name); };
  CHECK(label(0, "Cardiomegaly") == 1.0f);
  CHECK(label(0, "Atelectasis") == 0.0f);
  CHECK(label(0, "Fracture") == 1.0f);  // rib by one reader, clavicle by another: two of three
  CHECK(label(0, "Effusion") == 1.0f);
  CHECK(label(1, "Lung Lesion") == 0.0f);  // Nodule/Mass by one of three
  CHECK(t.label_names.back() == "Fracture");
  // The test set: one consensus row per image, no rad_id.
  std::string test_header = kVinDrHeader;
  test_header.erase(test_header.find("rad_id,"), 7);
  std::string row = vindr_row("c", "x", {17});
  row.erase(row.find(",x"), 2);
  const LabelTable test = read_vindr(parse_csv(test_header + row, "image_labels_test.csv"));
  CHECK(label_of(test, 0, "Lung Lesion") == 1.0f);
}

TEST_CASE("PadChest: the report's findings list through the synonym table") {
  test::TempDir dir;
  write_text(dir.file("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv"),
             "ImageID,ImageDir,StudyID,PatientID,PatientBirth,PatientSex_DICOM,Projection,Labels\n"
             "1.png,0,s1,p1,1950,F,PA,\"['pneumonia', 'infiltrates']\"\n"
             "2.png,3,s2,p1,1950,F,L,\"['normal']\"\n"
             "3.png,54,s3,p2,1940,M,AP,\"['hiatal hernia', 'laminar atelectasis', 'costophrenic angle blunting']\"\n");
  const LabelTable t = read_labels(dir.file("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv"));
  REQUIRE(t.size() == 3);
  CHECK(t.images[0].image == "0/1.png");
  CHECK(t.images[2].patient_id == "p2");
  const auto positives = [&](size_t i) {
    std::vector<std::string> names;
    for (size_t k = 0; k < t.label_names.size(); ++k)
      if (t.images[i].labels[k] == 1.0f) names.push_back(t.label_names[k]);
    return names;
  };
  CHECK(positives(0) == std::vector<std::string>{"Infiltration", "Pneumonia"});
  CHECK(positives(1).empty());
  CHECK(positives(2) == std::vector<std::string>{"Atelectasis", "Hernia"});
  write_text(dir.file("bad.csv"), "ImageID,ImageDir,PatientID,Labels\n1.png,0,p1,pneumonia\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("bad.csv")), Contains("bad.csv:2:4: column 'Labels': expected a list like"),
                       Error);
}

TEST_CASE("MIMIC-CXR-JPG: study labels joined with the metadata and the official split beside them") {
  test::TempDir dir;
  write_gzip(
      dir.file("mimic-cxr-2.0.0-chexpert.csv.gz"),
      "subject_id,study_id,Atelectasis,Cardiomegaly,Consolidation,Edema,Enlarged Cardiomediastinum,Fracture,"
      "Lung Lesion,Lung Opacity,No Finding,Pleural Effusion,Pleural Other,Pneumonia,Pneumothorax,Support Devices\n"
      "10000032,50414267,,,,,,,,,1.0,,,,,\n"
      "10000032,53189527,,1.0,,-1.0,,,,,,0.0,,,,\n");
  write_gzip(dir.file("mimic-cxr-2.0.0-metadata.csv.gz"),
             "dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns\n"
             "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014,10000032,50414267,CHEST (PA AND LAT),PA,3056,2544\n"
             "174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962,10000032,50414267,CHEST (PA AND LAT),LATERAL,3056,2544\n"
             "2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab,10000032,53189527,CHEST (PA AND LAT),PA,3056,2544\n"
             "ffffffff-00000000-00000000-00000000-00000000,10000099,59999999,CHEST (PA AND LAT),PA,3056,2544\n");
  write_gzip(
      dir.file("mimic-cxr-2.0.0-split.csv.gz"),
      "dicom_id,study_id,subject_id,split\n02aa804e-bde0afdd-112c0b34-7bc16630-4e384014,50414267,10000032,train\n"
      "174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962,50414267,10000032,train\n"
      "2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab,53189527,10000032,test\n");
  const LabelTable t = read_labels(dir.file("mimic-cxr-2.0.0-chexpert.csv.gz"));
  REQUIRE(t.size() == 3);  // the fourth image's study has no labels
  CHECK(t.images[0].image == "files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg");
  CHECK(t.images[0].patient_id == "10000032");
  CHECK(t.images[1].view == "LATERAL");
  for (float v : t.images[1].labels) CHECK(v == 0.0f);  // No Finding
  CHECK(t.images[2].labels[1] == 1.0f);                 // Cardiomegaly
  CHECK(std::isnan(t.images[2].labels[3]));             // Edema, uncertain: ignored
  CHECK(t.images[2].labels[4] == 0.0f);                 // Pleural Effusion -> Effusion
  label_options().official_split = "test";
  const LabelTable test = read_labels(dir.file("mimic-cxr-2.0.0-chexpert.csv.gz"));
  label_options().official_split.clear();
  REQUIRE(test.size() == 1);
  CHECK(test.images[0].image.find("2a2277a9") != std::string::npos);
  write_gzip(dir.file("other-chexpert.csv.gz"), "subject_id,study_id,No Finding\n1,2,1.0\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("other-chexpert.csv.gz")), Contains("other-chexpert.csv.gz: no column"),
                       Error);
}

TEST_CASE("--views keeps the images of those views, --one-per-patient each patient's first; no views is an error") {
  const CsvTable csv = parse_csv(kCheXpertCsv, "train.csv");
  CHECK(read_chexpert(csv, Uncertain::kIgnore).images[2].view == "Lateral");
  CHECK(read_chexpert(csv, Uncertain::kIgnore).images[0].view == "AP");
  label_options().views = {"AP"};
  CHECK(parse_labels(csv).size() == 2);
  label_options().views = {"Lateral"};
  CHECK(parse_labels(csv).images.front().image == "train/patient00002/study1/view2_lateral.jpg");
  label_options().views = {"AP", "Lateral"};
  label_options().one_per_patient = true;
  const LabelTable one = parse_labels(csv);
  REQUIRE(one.size() == 2);
  CHECK(one.images[1].image == "train/patient00002/study2/view1_frontal.jpg");  // the patient's first row
  label_options().one_per_patient = false;
  CHECK_THROWS_WITH_AS(parse_labels(parse_csv(kNotebookCsv, "nb.csv")), Contains("nb.csv: --views needs a view"),
                       Error);
  label_options().views.clear();
}

TEST_CASE("RSNA Pneumonia: one image from its box rows, Target for Pneumonia and Lung Opacity; formats by header") {
  test::TempDir dir;
  write_text(dir.file("stage_2_train_labels.csv"),
             "patientId,x,y,width,height,Target\n0004cfab-14fd-4e49-80ba-63a80b6bddd6,,,,,0\n"
             "00436515-870c-4b36-a041-de91049b9ab4,264.0,152.0,213.0,379.0,1\n"
             "00436515-870c-4b36-a041-de91049b9ab4,562.0,152.0,256.0,453.0,1\n");
  const LabelTable t = read_labels(dir.file("stage_2_train_labels.csv"));
  CHECK(t.label_names == std::vector<std::string>{"Pneumonia", "Lung Opacity"});
  REQUIRE(t.size() == 2);
  CHECK(t.images[0].image == "0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm");
  CHECK(t.images[0].labels == std::vector<float>{0, 0});
  CHECK(t.images[1].labels == std::vector<float>{1, 1});
  // A header that fits two formats is refused; naming the format reads it.
  write_text(dir.file("both.csv"), "Image,PatientId,patientId,Target\na.png,1,a,0\n");
  CHECK_THROWS_WITH_AS(read_labels(dir.file("both.csv")), Contains("both.csv: its columns fit 2 label formats"), Error);
  label_options().format = LabelFormat::kRsna;
  CHECK(read_labels(dir.file("both.csv")).images[0].image == "a.dcm");
  label_options().format = LabelFormat::kAuto;
  CHECK(uncertain_from_name("zeros") == Uncertain::kZeros);
}

TEST_CASE("NIH's format maps 'A|B' and 'No Finding' onto the 14 pathologies") {
  test::TempDir dir;
  write_text(dir.file("Data_Entry.csv"),
             "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age\n"
             "00000001_000.png,Cardiomegaly,0,1,57\n"
             "00000001_001.png,Cardiomegaly|Emphysema,1,1,58\n"
             "00000002_000.png,No Finding,0,2,81\n");
  const LabelTable t = read_labels(dir.file("Data_Entry.csv"));
  REQUIRE(t.size() == 3);
  CHECK(t.label_names.size() == 14);
  CHECK(t.positives() == std::vector<int64_t>{0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(t.images[2].patient_id == "2");
}

TEST_CASE("real data: the notebook CSVs of the NIH sample agree with NIH's own metadata") {
  if (test::skip_without_shared_data()) return;
  const std::string sample = test::shared_data_dir() + "/nih-sample/";
  const LabelTable train = read_labels(sample + "train-small.csv"), valid = read_labels(sample + "valid-small.csv"),
                   test_set = read_labels(sample + "test.csv"), nih = read_labels(sample + "Data_Entry_subset.csv");
  CHECK(train.size() == 400);
  CHECK(valid.size() == 71);
  CHECK(test_set.size() == 150);
  CHECK(nih.size() == 621);
  CHECK(train.label_names == std::vector<std::string>(kPathologies.begin(), kPathologies.end()));
  // Every image's labels in the notebook's format equal NIH's Finding Labels.
  std::map<std::string, LabeledImage> by_name;
  for (const auto& item : nih.images) by_name[item.image] = item;
  std::vector<int64_t> totals(14, 0);
  for (const LabelTable* part : {&train, &valid, &test_set})
    for (const auto& item : part->images) {
      REQUIRE(by_name.count(item.image));
      CHECK(by_name[item.image].labels == item.labels);
      CHECK(by_name[item.image].patient_id == item.patient_id);
      for (int k = 0; k < 14; ++k) totals[k] += item.labels[k] > 0.5f;
    }
  CHECK(totals == nih.positives());
}

TEST_CASE("real data: all 112,120 rows of Data_Entry_2017_v2020.csv.gz with NIH's per-label counts") {
  if (test::skip_without_shared_data()) return;
  const LabelTable all = read_labels(test::shared_data_dir() + "/nih-metadata/Data_Entry_2017_v2020.csv.gz");
  CHECK(all.size() == 112120);
  // Counts of each name in the Finding Labels column of the official file.
  CHECK(all.positives() ==
        std::vector<int64_t>{11559, 2776, 4667, 2303, 13317, 2516, 1686, 227, 19894, 5782, 6331, 3385, 1431, 5302});
  int64_t no_finding = 0;
  for (const auto& item : all.images) {
    bool any = false;
    for (float v : item.labels) any = any || v > 0.5f;
    no_finding += !any;
  }
  CHECK(no_finding == 60361);
}
