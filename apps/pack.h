// roentgen pack: a folder of images into a pack (data/pack.h), or --verify a pack.
#pragma once

namespace rg::app {

int pack_command(int argc, char** argv, const char* usage);

}  // namespace rg::app
