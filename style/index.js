import './base.css';
import './rules.css';
