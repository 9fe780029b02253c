import requests

url = "https://api.nextdocs.io/v1/jobs/job_abc123def456"

response = requests.request("GET", url, headers = {
  "Authorization": "Bearer <token>"
})

print(response.text)
