// The default accept filter of the container-registry-agent flavour: snyk/broker's
// defaultFilters/container-registry-agent.json, kept verbatim (deploy/filters/container-registry-agent.json is
// the same file; a test checks they are equal) so the binary needs no file to start.

public enum DefaultFilters {
    static let containerRegistryAgentSource = "the default container-registry-agent filter"

    public static func containerRegistryAgent() -> Result<FilterRules, FilterLoadError> {
        FilterRules.parse(Array(containerRegistryAgentJSON.utf8), source: containerRegistryAgentSource)
    }

    public static let containerRegistryAgentJSON = #"""
{
    "public": [
      {
        "//": "image scan done callback (v2)",
        "method": "POST",
        "path": "/api/v2/import/done"
      },
      {
        "//": "image scan (discover) callback (v1)",
        "method": "POST",
        "path": "/api/v1/recurring-tests/dependencies"
      },
      {
        "//": "image scan result callback (v2)",
        "method": "POST",
        "path": "/api/v2/import/result"
      },
      {
        "//": "(api hosts) image scan (discover) callback (v1)",
        "method": "POST",
        "path": "/v1/import/app"
      },
      {
        "//": "(api hosts) image scan done callback (v2)",
        "method": "POST",
        "path": "/v2/import/done"
      },
      {
        "//": "(api hosts) image scan (discover) callback (v1)",
        "method": "POST",
        "path": "/v1/recurring-tests/dependencies"
      },
      {
        "//": "(api hosts) image scan result callback (v2)",
        "method": "POST",
        "path": "/v2/import/result"
      },
      {
        "//": "(api hosts) image scan result callback - code lineage service",
        "method": "POST",
        "path": "/rest/scan/result"
      }
    ],
    "private": [
      {
        "method": "GET",
        "path": "/healthcheck",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "validates credentials with connection to container registry",
        "method": "GET",
        "path": "/validate-credentials",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "returns image state id used in recurring or re-tests",
        "method": "GET",
        "path": "/get-state-identifier",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "lists repositories in container registry",
        "method": "GET",
        "path": "/list",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "lists tags/images in a repository",
        "method": "GET",
        "path": "/list/*",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "lists paginated results (supports >1000 images)",
        "method": "GET",
        "path": "/list-paginated/*",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "lists tags with metadata (digests, lastPushed) in a repository",
        "method": "GET",
        "path": "/list-with-metadata/*",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "accepts image scan requests (v1)",
        "method": "POST",
        "path": "/discover",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "accepts image scan requests (v2)",
        "method": "POST",
        "path": "/scan",
        "origin": "${CR_AGENT_URL}"
      },
      {
        "//": "returns image-metadata for given repository and image reference",
        "method": "GET",
        "path": "/image-metadata/*",
        "origin": "${CR_AGENT_URL}"
      }
    ]
  }
"""#
}
