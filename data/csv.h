// A small, strict CSV reader (RFC 4180): quoted fields with "" escapes and embedded commas or
// newlines, LF or CRLF line ends, an optional UTF-8 byte order mark, gzip-compressed files.
// Rows remember the line they started on, so later checks can say "file:line:column: ...".
#pragma once

#include <string>
#include <vector>

namespace rg::data {

struct CsvRow {
  int line = 0;  // 1-based line number in the file where the row starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string path;  // where it was read from (for messages)
  std::vector<std::string> header;
  std::vector<CsvRow> rows;

  // Index of the header column `name`, or -1.
  int column(const std::string& name) const;
  // Index of the header column `name`; throws rg::Error naming the file and the columns it has.
  int require_column(const std::string& name) const;
  // "path:line:column: column 'name'" for messages about one field (column is 1-based).
  std::string where(const CsvRow& row, int column) const;
};

// Parses CSV text; `path` is only used in messages. Throws on an unterminated quote, or on a
// row whose field count differs from the header's (naming the line).
CsvTable parse_csv(const std::string& text, const std::string& path);
CsvTable read_csv(const std::string& path);

// One CSV line: fields joined by commas, quoted where needed.
std::string csv_line(const std::vector<std::string>& fields);

}  // namespace rg::data
