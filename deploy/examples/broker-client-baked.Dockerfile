# A broker client image with its environment baked in, as snyk documents for its broker images: built
# FROM the cr-broker image, run with only `docker run --restart=always -p 8000:8000 my-cr-broker`.
# Secrets (BROKER_TOKEN, CR_PASSWORD) stay out of the image: pass them with -e or a secret store.
ARG BROKER_IMAGE=cr-broker:latest
FROM ${BROKER_IMAGE}
ENV PORT=8000 \
    BROKER_CLIENT_URL=http://broker-client.internal:8000 \
    CR_AGENT_URL=http://cr-agent.internal:8081 \
    CR_TYPE=docker-hub \
    CR_BASE=registry.hub.docker.com \
    BROKER_CLIENT_VALIDATION_URL=http://cr-agent.internal:8081/systemcheck
EXPOSE 8000
