/* version.c: the version of the library that was loaded. */
#include "internal.h"

#define AUV__STR_(x) #x
#define AUV__STR(x) AUV__STR_(x)

unsigned int auv_version(void) {
  return AUV_VERSION_HEX;
}

const char *auv_version_string(void) {
#if AUV_VERSION_IS_RELEASE
  return AUV__STR(AUV_VERSION_MAJOR) "." AUV__STR(AUV_VERSION_MINOR) "."
         AUV__STR(AUV_VERSION_PATCH);
#else
  return AUV__STR(AUV_VERSION_MAJOR) "." AUV__STR(AUV_VERSION_MINOR) "."
         AUV__STR(AUV_VERSION_PATCH) "-" AUV_VERSION_SUFFIX;
#endif
}
