#include "model/tenant.h"

#include <gtest/gtest.h>

namespace vivace::model {
namespace {

TEST(TenantTest, Validation) {
  EXPECT_TRUE(ValidateTenant("single-tenant").ok());
  EXPECT_TRUE(ValidateTenant("team_a.prod(1)").ok());
  EXPECT_FALSE(ValidateTenant("").ok());
  EXPECT_FALSE(ValidateTenant("..").ok());
  EXPECT_FALSE(ValidateTenant("a/b").ok());
  EXPECT_FALSE(ValidateTenant(std::string(151, 'a')).ok());
}

}  // namespace
}  // namespace vivace::model
