#include "report/html.h"

#include "report/svg.h"
#include "tensor/io.h"

namespace rg::report {

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += alphabet[(n >> k) & 63];
  }
  if (i < bytes.size()) {
    const uint32_t n = (uint8_t(bytes[i]) << 16) | (i + 1 < bytes.size() ? uint8_t(bytes[i + 1]) << 8 : 0);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

void HtmlReport::heading(const std::string& text) { body_ += "<h2>" + escape(text) + "</h2>\n"; }
void HtmlReport::paragraph(const std::string& text) { body_ += "<p>" + escape(text) + "</p>\n"; }
void HtmlReport::raw(const std::string& html) { body_ += html + "\n"; }

void HtmlReport::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  body_ += "<table>\n<tr>";
  for (const auto& h : header) body_ += "<th>" + escape(h) + "</th>";
  body_ += "</tr>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const auto& cell : row) body_ += "<td>" + escape(cell) + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</table>\n";
}

void HtmlReport::png(const std::string& png_bytes, const std::string& caption, int width) {
  body_ += "<figure><img src=\"data:image/png;base64," + base64(png_bytes) + "\"" +
           (width ? " width=\"" + std::to_string(width) + "\"" : "") + " alt=\"" + escape(caption) + "\"><figcaption>" +
           escape(caption) + "</figcaption></figure>\n";
}

void HtmlReport::write(const std::string& path) const {
  const std::string page =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escape(title_) +
      "</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
      "th{background:#f4f4f4}figure{display:inline-block;margin:6px}figcaption{font-size:12px;text-align:center}"
      "svg{margin:6px 0}</style></head>\n<body>\n<h1>" +
      escape(title_) + "</h1>\n" + body_ + "</body></html>\n";
  write_file_atomic(path, page);
}

}  // namespace rg::report
