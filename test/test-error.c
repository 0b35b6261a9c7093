/* test-error.c: error codes, their names and descriptions, and the
 * version. */
#include <stdio.h>
#include <string.h>

#include "test.h"

START_TEST(auv_codes_have_their_names_and_sentences) {
#define CHECK_ENTRY(name, code, msg)                                           \
  ck_assert_int_eq(AUV_##name, code);                                         \
  ck_assert_str_eq(auv_err_name(code), "AUV_" #name);                         \
  ck_assert_str_eq(auv_strerror(code), msg);
  AUV_ERRNO_MAP(CHECK_ENTRY)
#undef CHECK_ENTRY
  ck_assert_str_eq(auv_err_name(AUV_ESTALLED), "AUV_ESTALLED");
}
END_TEST

START_TEST(auv_codes_lie_in_a_range_libuv_does_not_use) {
  char buf[128];
#define CHECK_RANGE(name, code, msg)                                           \
  ck_assert_int_ge(code, -30099);                                             \
  ck_assert_int_le(code, -30001);                                             \
  uv_err_name_r(code, buf, sizeof(buf));                                      \
  ck_assert_msg(strncmp(buf, "Unknown system error", 20) == 0,               \
                "libuv knows %d as %s", code, buf);
  AUV_ERRNO_MAP(CHECK_RANGE)
#undef CHECK_RANGE
}
END_TEST

START_TEST(libuv_codes_pass_through_to_libuvs_names_and_sentences) {
  int codes[] = {UV_ECANCELED, UV_EINVAL, UV_ENOMEM, UV_EIO, UV_EBUSY, UV_EOF};
  size_t i;
  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    char name[64], msg[128];
    uv_err_name_r(codes[i], name, sizeof(name));
    uv_strerror_r(codes[i], msg, sizeof(msg));
    ck_assert_str_eq(auv_err_name(codes[i]), name);
    ck_assert_str_eq(auv_strerror(codes[i]), msg);
  }
  ck_assert_str_eq(auv_err_name(UV_ECANCELED), "ECANCELED");
}
END_TEST

START_TEST(unknown_codes_are_described_without_allocating) {
  long before = test_alloc_live();
  int unknown[] = {-30050, -30099, -29999, 12345, -123456};
  size_t i;
  for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    ck_assert_str_eq(auv_strerror(unknown[i]), "unknown error");
    ck_assert_ptr_nonnull(auv_err_name(unknown[i]));
  }
  /* Static strings: libuv's uv_strerror would leak for unknown codes. */
  ck_assert_int_eq(test_alloc_live(), before);
}
END_TEST

START_TEST(version_matches_the_header) {
  char expected[64];
  ck_assert_uint_eq(auv_version(), AUV_VERSION_HEX);
  ck_assert_uint_eq(AUV_VERSION_HEX, (AUV_VERSION_MAJOR << 16) | (AUV_VERSION_MINOR << 8) |
                                         AUV_VERSION_PATCH);
  if (AUV_VERSION_IS_RELEASE || AUV_VERSION_SUFFIX[0] == '\0')
    snprintf(expected, sizeof(expected), "%d.%d.%d", AUV_VERSION_MAJOR, AUV_VERSION_MINOR,
             AUV_VERSION_PATCH);
  else
    snprintf(expected, sizeof(expected), "%d.%d.%d-%s", AUV_VERSION_MAJOR,
             AUV_VERSION_MINOR, AUV_VERSION_PATCH, AUV_VERSION_SUFFIX);
  ck_assert_str_eq(auv_version_string(), expected);
}
END_TEST

Suite *error_suite(void) {
  Suite *s = suite_create("error");
  TCase *tc = test_tcase_create("codes", 10);
  ADD(tc, auv_codes_have_their_names_and_sentences);
  ADD(tc, auv_codes_lie_in_a_range_libuv_does_not_use);
  ADD(tc, libuv_codes_pass_through_to_libuvs_names_and_sentences);
  ADD(tc, unknown_codes_are_described_without_allocating);
  ADD(tc, version_matches_the_header);
  suite_add_tcase(s, tc);
  return s;
}
