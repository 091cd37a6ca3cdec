#include "vent/ddp/random_id.h"

#include "absl/random/random.h"

namespace vent::ddp {

std::string RandomId(size_t length) {
  // absl::BitGen is Randen-based and seeded from the OS entropy source
  // (getrandom / random_device) on first use in each thread.
  thread_local absl::BitGen gen;
  std::string id(length, '\0');
  for (char& c : id) {
    c = kRandomIdAlphabet[absl::Uniform<size_t>(gen, 0,
                                                kRandomIdAlphabet.size())];
  }
  return id;
}

}  // namespace vent::ddp
