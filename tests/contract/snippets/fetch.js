fetch("https://api.nextdocs.io/v1/jobs/job_abc123def456", {
  headers: {
    "Authorization": "Bearer <token>"
  }
})
