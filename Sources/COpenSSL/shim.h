// OpenSSL's libcrypto (apt: libssl-dev), for SHA-256 only: SHA256_Init/Update/Final keep
// their state in a plain struct (a Swift value), which OpenSSL 3 marks deprecated in favour
// of EVP's heap-allocated contexts; they remain in OpenSSL 3 and use the CPU's SHA
// extensions as EVP does.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
