// File: vent/ddp/random_id.h
//
// Meteor-style random ids (Random.id()): 17 characters from the alphabet
// "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz". Used for DDP
// session ids.
//
// Thread-safety: safe to call from any thread (each thread owns a generator
// seeded from OS entropy). Ids are unpredictable in practice but this is not
// a token generator for secrets.
#ifndef VENT_DDP_RANDOM_ID_H_
#define VENT_DDP_RANDOM_ID_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace vent::ddp {

// Meteor's unmistakable-characters alphabet (55 characters).
inline constexpr absl::string_view kRandomIdAlphabet =
    "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
inline constexpr size_t kRandomIdLength = 17;

// Returns `length` characters drawn uniformly from kRandomIdAlphabet.
std::string RandomId(size_t length = kRandomIdLength);

}  // namespace vent::ddp

#endif  // VENT_DDP_RANDOM_ID_H_
