// The set of publications a bridge serves, loaded from the `publications`
// section of the config file (format: vent/pub/README.md).
//
// Built once at startup (publications are not reloaded: changing them means
// restarting the bridge) and immutable afterwards, handed out as
// shared_ptr<const Catalog>. Find() and names() are thread-safe.
#ifndef VENT_PUB_CATALOG_H_
#define VENT_PUB_CATALOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vent/pub/publication.h"
#include "yaml-cpp/yaml.h"

namespace vent::pub {

class Catalog {
 public:
  // `node` is the `publications` mapping; Null or undefined -> an empty
  // catalog. Errors are InvalidArgument and start with the path of the
  // offending key, e.g.
  //   "publications.threadMessage.auth (line 7): missing; one of public, user,
  //    authorizer is required"
  static absl::StatusOr<std::shared_ptr<const Catalog>> FromYaml(
      const YAML::Node& node);

  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // nullptr if unknown. The pointer lives as long as the catalog.
  const Publication* Find(absl::string_view name) const;
  // Sorted.
  std::vector<std::string> names() const;
  std::size_t size() const { return pubs_.size(); }
  // True when some publication keeps history.
  bool has_history() const { return !history_pubs_.empty(); }
  // The history a channel keeps: the largest size and the longest ttl of the
  // history publications covering it; nullopt when none does. (One Redis
  // stream per channel serves every publication that covers it.)
  std::optional<History> HistoryFor(absl::string_view channel) const;

 private:
  Catalog() = default;

  absl::flat_hash_map<std::string, std::unique_ptr<const Publication>> pubs_;
  std::vector<const Publication*> history_pubs_;
};

}  // namespace vent::pub

#endif  // VENT_PUB_CATALOG_H_
