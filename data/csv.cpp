#include "data/csv.h"

#include "tensor/io.h"
#include "tensor/error.h"

namespace rg::data {

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return int(i);
  return -1;
}

std::string CsvTable::where(const CsvRow& row, int column) const {
  return path + ":" + std::to_string(row.line) + ":" + std::to_string(column + 1) + ": column '" + header[column] + "'";
}

int CsvTable::require_column(const std::string& name) const {
  const int i = column(name);
  if (i < 0) {
    std::string have;
    for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
    throw Error(path + ": no column '" + name + "' (columns: " + have + ")");
  }
  return i;
}

CsvTable parse_csv(const std::string& text, const std::string& path) {
  CsvTable table;
  table.path = path;
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // skip a UTF-8 BOM
  int line = 1;
  std::vector<CsvRow> rows;
  while (i < text.size()) {
    CsvRow row;
    row.line = line;
    std::string field;
    bool row_done = false;
    while (!row_done) {
      field.clear();
      if (i < text.size() && text[i] == '"') {  // a quoted field
        const int quote_line = line;
        ++i;
        while (true) {
          RG_CHECK(i < text.size(), path, ":", quote_line, ": unterminated quoted field");
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        RG_CHECK(i >= text.size() || text[i] == ',' || text[i] == '\n' || text[i] == '\r', path, ":", line,
                 ": unexpected character after a closing quote in field ", row.fields.size() + 1);
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') field += text[i++];
      }
      row.fields.push_back(field);
      if (i < text.size() && text[i] == ',') {
        ++i;
      } else {  // end of line or of text
        if (i < text.size() && text[i] == '\r') ++i;
        if (i < text.size() && text[i] == '\n') ++i;
        ++line;
        row_done = true;
      }
    }
    const bool blank = row.fields.size() == 1 && row.fields[0].empty();
    if (!blank) rows.push_back(std::move(row));
  }
  RG_CHECK(!rows.empty(), path, ": empty file (expected a header line)");
  table.header = std::move(rows.front().fields);
  for (size_t r = 1; r < rows.size(); ++r) {
    RG_CHECK(rows[r].fields.size() == table.header.size(), path, ":", rows[r].line, ": expected ", table.header.size(),
             " columns as in the header, found ", rows[r].fields.size());
    table.rows.push_back(std::move(rows[r]));
  }
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file_gunzip(path), path); }

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\n\r") == std::string::npos) {
      out += f;
    } else {
      out += '"';
      for (char c : f) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      out += '"';
    }
  }
  return out + '\n';
}

}  // namespace rg::data
