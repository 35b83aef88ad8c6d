FROM python:3.11-slim
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY <<EOF /srv/gunicorn.conf.py
bind = "0.0.0.0:8000"
workers = 2
EOF
COPY . .
RUN python manage.py collectstatic --noinput
USER nobody
CMD ["gunicorn", "-c", "/srv/gunicorn.conf.py", "site.wsgi"]
