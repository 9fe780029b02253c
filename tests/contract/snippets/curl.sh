curl -X GET "https://api.nextdocs.io/v1/jobs/job_abc123def456" \
  -H "Authorization: Bearer <token>"
