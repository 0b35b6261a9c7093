/* auv/version.h: the library's version, in one place.
 *
 * From 1.0 on the rule is libuv's: the same major version means the same
 * ABI; a minor version adds functions and never changes an existing one; a
 * patch version fixes bugs only. Before 1.0 a minor version may change the
 * API and the ABI (docs/changes.md lists every change), so the soname then
 * carries the minor version too (libauv.so.0.2). Compare AUV_VERSION_HEX
 * at build time and auv_version() at run time to tell the header you
 * compiled against from the library you loaded.
 */
#ifndef AUV_VERSION_H
#define AUV_VERSION_H

#define AUV_VERSION_MAJOR 0
#define AUV_VERSION_MINOR 2
#define AUV_VERSION_PATCH 0
#define AUV_VERSION_IS_RELEASE 0
#define AUV_VERSION_SUFFIX "dev"

#define AUV_VERSION_HEX ((AUV_VERSION_MAJOR << 16) | \
                         (AUV_VERSION_MINOR <<  8) | \
                         (AUV_VERSION_PATCH))

#endif /* AUV_VERSION_H */
