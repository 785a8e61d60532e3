#include "base/arena.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vivace {
namespace {

TEST(ArenaTest, CopiesStayValidAcrossBlocks) {
  Arena arena;
  std::vector<std::string_view> views;
  for (int i = 0; i < 20000; ++i) views.push_back(arena.Copy("value-" + std::to_string(i)));
  for (int i = 0; i < 20000; ++i) EXPECT_EQ(views[i], "value-" + std::to_string(i));
  EXPECT_GE(arena.bytes_used(), 20000u * 8);
}

TEST(ArenaTest, LargeAllocationAndAdopt) {
  Arena arena;
  std::string big(1 << 20, 'x');
  std::string_view v = arena.Copy(big);
  EXPECT_EQ(v, big);
  std::string_view adopted = arena.Adopt(std::string("owned bytes"));
  EXPECT_EQ(adopted, "owned bytes");
  EXPECT_TRUE(arena.Copy("").empty());
}

TEST(ArenaTest, AdoptedShortStringsSurviveLaterAdoptions) {
  // Short strings keep their bytes inside the std::string object; adopting many must not move
  // the bytes earlier views point at.
  Arena arena;
  std::vector<std::string_view> views;
  for (int i = 0; i < 200; ++i) views.push_back(arena.Adopt(std::to_string(i)));
  for (int i = 0; i < 200; ++i) EXPECT_EQ(views[i], std::to_string(i)) << i;
  std::string_view big = arena.Adopt(std::string(100, 'b'));
  EXPECT_EQ(arena.TakeAdopted(big), std::string(100, 'b'));
}

}  // namespace
}  // namespace vivace
